import { mkdir, readdir, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import type { Logger } from '../util/logger.js'
import type { Startable } from '../util/lifecycle.js'
import { Bucket, key, plain, u64, utf8 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { openError, opError, suspended } from './level-errors.js'

/** LevelDB's memtable size: up to twice this is held in memory while one is written out. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * Reads of at most this many keys are made on the calling thread (`getSync`), not as a job on
 * libuv's thread pool: a job costs a thread hand-off each way and a promise, many times a read
 * from the memtable or the block cache (with several nodes on a machine, most of the CPU a node
 * spent on a receipt a peer sent it). A read from disk blocks the event loop meanwhile: larger
 * reads, values that may be large (`{ large: true }`: a file's blocks), and what is left of a
 * read once `SYNC_READ_MAX_BYTES` came, stay on the pool.
 */
export const SYNC_READ_MAX_KEYS = 32
export const SYNC_READ_MAX_BYTES = 1024 * 1024

export type Bytes = Uint8Array

export interface ReadOptions {
  /** The values may be large (a file's blocks): read them on the thread pool, never on the calling thread. */
  large?: boolean
}

export interface LevelControllerOptions {
  /** Directory of the LevelDB database. Created (with parents) on start. */
  location: string
  /**
   * After a write fails, how long until the database is first reopened and a write tried
   * again; the delay doubles after each failed try, up to `maxRecoveryDelayMs`.
   * @default 1000
   */
  recoveryDelayMs?: number
  /** @default 30000 */
  maxRecoveryDelayMs?: number
  /**
   * Free space the disk must have before a reopen is tried (LevelDB needs room to turn its
   * log into a table when it opens). @default 16 MiB
   */
  minFreeBytes?: number
}

/** The parts of an abstract-level database the controller uses (`Level`, or `MemoryLevel` in tests). */
export interface Database {
  readonly status: string
  open(): Promise<void>
  close(): Promise<void>
  /** A read on the calling thread; absent when the database cannot (then reads are asynchronous). */
  getSync?: (key: Bytes) => Bytes | undefined
  getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>>
  hasMany(keys: Bytes[]): Promise<boolean[]>
  put(key: Bytes, value: Bytes, options: { sync: boolean }): Promise<void>
  batch(ops: BatchOp[], options: { sync: boolean }): Promise<void>
  iterator(range: RangeOptions): AsyncIterable<[Bytes, Bytes]> & { close(): Promise<void> }
  keys(range: RangeOptions): AsyncIterable<Bytes> & { close(): Promise<void> }
}

export interface LevelControllerComponents {
  logger: Logger
  /**
   * Builds the database instead of a LevelDB at `location` (with `view` key and value
   * encodings), e.g. an in-memory one for tests.
   * @default a `Level` database in `location`
   */
  database?: () => Database
  /** Free bytes on the disk of `location`, undefined when unknown. @default `statfs` */
  freeBytes?: (location: string) => Promise<number | undefined>
}

/** Why writes are refused, and since when (ms since the epoch). */
export interface WriteFailure {
  error: StoreError
  since: number
}

export interface RangeOptions {
  gte?: Bytes
  gt?: Bytes
  lt?: Bytes
  lte?: Bytes
  reverse?: boolean
  /** @default -1 (no limit) */
  limit?: number
}

export type BatchOp = { type: 'put', key: Bytes, value: Bytes } | { type: 'del', key: Bytes }

export interface WriteOptions {
  /**
   * fsync the write-ahead log before the promise resolves: the write survives a crash of
   * the process or the machine once acknowledged.
   * @default false
   */
  sync?: boolean
}

type Db = Database

/** Written (synced) to find out whether the database takes writes again. */
const PROBE_KEY = key(Bucket.meta, utf8('writeProbe'))
const MIB = 1024 * 1024

/**
 * Owns the one LevelDB database of the node. Keys and values are raw bytes; the
 * typed repositories (blocks, receipts, workflows) build their keys from `Bucket`.
 * Level errors are turned into `StoreError`s with stable codes.
 *
 * A failed write (a full disk, an I/O error) suspends writing: every later write is refused
 * at once with the same error, while reads go on. LevelDB cannot be trusted to take writes
 * again on the same handle: after a failed write to its log, later writes report success but
 * are lost when the database is next opened (the log has a torn record), and after a failed
 * compaction every write fails until it is reopened. So after a back-off, once the disk has
 * room, the database is closed and opened again (which recovers its log) and a synced probe
 * write is tried; when it lands, writes are taken again. No restart is needed.
 */
export class LevelController implements Startable {
  readonly location: string
  private readonly log: Logger
  private db: Db | undefined
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly database?: () => Database
  private readonly freeBytes: (location: string) => Promise<number | undefined>
  private readonly recoveryDelayMs: number
  private readonly maxRecoveryDelayMs: number
  private readonly minFreeBytes: number
  private failure?: WriteFailure
  private nextDelayMs = 0
  private recoveryTimer?: NodeJS.Timeout
  /** Set while the database is being reopened: operations wait for it. */
  private reopening?: Promise<void>
  private writableWaiters: Array<{ resolve: () => void, reject: (err: Error) => void }> = []

  constructor (options: LevelControllerOptions, components: LevelControllerComponents) {
    this.location = options.location
    this.log = components.logger
    if (components.database !== undefined) this.database = components.database
    this.freeBytes = components.freeBytes ?? diskFreeBytes
    this.recoveryDelayMs = options.recoveryDelayMs ?? 1000
    this.maxRecoveryDelayMs = options.maxRecoveryDelayMs ?? 30_000
    this.minFreeBytes = options.minFreeBytes ?? 16 * MIB
  }

  get isOpen (): boolean {
    return this.db?.status === 'open'
  }

  /** Why writes are refused at the moment; undefined while they are taken. */
  get writeFailure (): WriteFailure | undefined {
    return this.failure
  }

  /** Resolves once writes are taken (at once when they are); rejects when the store stops first. */
  async whenWritable (): Promise<void> {
    if (this.failure === undefined) return
    await new Promise<void>((resolve, reject) => { this.writableWaiters.push({ resolve, reject }) })
  }

  async start (): Promise<void> {
    if (this.db !== undefined) return
    let db: Db
    if (this.database !== undefined) {
      db = this.database()
    } else {
      await mkdir(this.location, { recursive: true })
      // LevelDB's default 4 MiB write buffer: a 16 MiB one adds a large file ~1.7× faster
      // (200 MB: 1.1 s against 1.9 s; fetching it from peers is no faster), but the node
      // then holds ~20 MB more after a busy spell (docs/performance.md)
      db = new Level<Bytes, Bytes>(this.location, { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: WRITE_BUFFER_BYTES })
    }
    try {
      await db.open()
    } catch (err) {
      throw openError(err, this.location)
    }
    this.db = db
    this.log.debug({ location: this.location }, 'store opened')
  }

  /** Waits for writes in flight, then closes. Safe to call twice. */
  async stop (): Promise<void> {
    const db = this.db
    if (db === undefined) return
    this.db = undefined
    clearTimeout(this.recoveryTimer)
    const stopped = new StoreError(StoreErrorCode.NOT_OPEN, `store is not open: ${this.location}`)
    for (const w of this.writableWaiters.splice(0)) w.reject(stopped)
    await this.reopening?.catch(() => {})
    await Promise.allSettled([...this.inflight])
    await db.close()
    this.log.debug({ location: this.location }, 'store closed')
  }

  async get (key: Bytes, options: ReadOptions = {}): Promise<Bytes | undefined> {
    return (await this.read([key], options))[0]
  }

  async getMany (keys: Bytes[], options: ReadOptions = {}): Promise<Array<Bytes | undefined>> {
    return keys.length === 0 ? [] : await this.read(keys, options)
  }

  /** Which of the keys are present, in one read; values are not copied out. */
  async hasMany (keys: Bytes[], options: ReadOptions = {}): Promise<boolean[]> {
    if (keys.length === 0) return []
    if (this.syncReader(keys, options) === undefined) return await this.run(async db => await db.hasMany(keys), false)
    return (await this.read(keys, options)).map(v => v !== undefined)
  }

  /** The open database when these keys are read on the calling thread (`getSync`), else undefined. */
  private syncReader (keys: Bytes[], options: ReadOptions): Pick<Required<Database>, 'getSync'> | undefined {
    const db = this.db
    if (options.large === true || keys.length > SYNC_READ_MAX_KEYS || db?.getSync === undefined || db.status !== 'open' || this.reopening !== undefined) return undefined
    return db as Pick<Required<Database>, 'getSync'>
  }

  /** A few small values on the calling thread until `SYNC_READ_MAX_BYTES` came; the rest as one job on the pool. */
  private async read (keys: Bytes[], options: ReadOptions): Promise<Array<Bytes | undefined>> {
    const out: Array<Bytes | undefined> = []
    const db = this.syncReader(keys, options)
    if (db !== undefined) {
      let bytes = 0
      try {
        for (let i = 0; i < keys.length && bytes <= SYNC_READ_MAX_BYTES; i++) {
          const v = db.getSync(keys[i])
          out.push(v === undefined ? undefined : plain(v))
          bytes += v?.byteLength ?? 0
        }
      } catch (err) {
        throw opError(err)
      }
      if (out.length === keys.length) return out
    }
    const rest = await this.run(async db => await db.getMany(keys.slice(out.length)), false)
    for (const v of rest) out.push(v === undefined ? undefined : plain(v))
    return out
  }

  async put (key: Bytes, value: Bytes, options: WriteOptions = {}): Promise<void> {
    await this.run(async db => { await db.put(key, value, { sync: options.sync ?? false }) }, true)
  }

  /** Applies all operations atomically: after a crash either all or none are visible. */
  async batch (ops: BatchOp[], options: WriteOptions = {}): Promise<void> {
    if (ops.length === 0) return
    await this.run(async db => { await db.batch(ops, { sync: options.sync ?? false }) }, true)
  }

  /** Key/value pairs of a range, in key order (or reverse). */
  async * entries (range: RangeOptions): AsyncGenerator<[Bytes, Bytes]> {
    if (this.reopening !== undefined) await this.reopening.catch(() => {})
    const it = this.open().iterator(range)
    try {
      for await (const [k, v] of it) yield [plain(k), plain(v)]
    } catch (err) {
      throw opError(err)
    } finally {
      await it.close()
    }
  }

  /** Keys of a range, in key order (or reverse). Values are not read. */
  async * keys (range: RangeOptions): AsyncGenerator<Bytes> {
    if (this.reopening !== undefined) await this.reopening.catch(() => {})
    const it = this.open().keys(range)
    try {
      for await (const k of it) yield plain(k)
    } catch (err) {
      throw opError(err)
    } finally {
      await it.close()
    }
  }

  /** Number of keys in a range (reads keys only). */
  async count (range: RangeOptions): Promise<number> {
    let n = 0
    for await (const _ of this.keys(range)) n++
    return n
  }

  /**
   * Health check: reads `key` from the database (a real read through LevelDB) and
   * returns how long that took in milliseconds. Throws `STORE_NOT_OPEN` when closed.
   */
  async ping (key: Bytes): Promise<{ latencyMs: number, found: boolean }> {
    const started = performance.now()
    const value = await this.get(key)
    return { latencyMs: performance.now() - started, found: value !== undefined }
  }

  /** Bytes the database directory takes on disk (sum of its files' sizes). */
  async sizeBytes (): Promise<number> {
    let total = 0
    let names: string[]
    try {
      names = await readdir(this.location)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw err
    }
    await Promise.all(names.map(async name => {
      try {
        const s = await stat(join(this.location, name))
        if (s.isFile()) total += s.size
      } catch (err) {
        // a table file removed by a compaction between readdir and stat
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }))
    return total
  }

  private open (): Db {
    const db = this.db
    if (db === undefined || db.status !== 'open') {
      throw new StoreError(StoreErrorCode.NOT_OPEN, `store is not open: ${this.location}`)
    }
    return db
  }

  private async run<T> (fn: (db: Db) => Promise<T>, write: boolean): Promise<T> {
    if (this.reopening !== undefined) await this.reopening.catch(() => {})
    if (write && this.failure !== undefined) throw suspended(this.failure)
    const db = this.open()
    const p = fn(db)
    this.inflight.add(p)
    try {
      return await p
    } catch (err) {
      const e = opError(err)
      if (write && e instanceof StoreError && (e.code === StoreErrorCode.IO || e.code === StoreErrorCode.NO_SPACE)) this.writeFailed(e)
      throw e
    } finally {
      this.inflight.delete(p)
    }
  }

  /** The first failed write suspends writing and starts the recovery. */
  private writeFailed (error: StoreError): void {
    if (this.failure !== undefined || this.db === undefined) return
    this.failure = { error, since: Date.now() }
    this.nextDelayMs = this.recoveryDelayMs
    this.log.error({ code: error.code, reason: error.message }, 'a store write failed: writes are refused until the database is reopened and takes a write again')
    this.scheduleRecovery()
  }

  private scheduleRecovery (): void {
    clearTimeout(this.recoveryTimer)
    this.recoveryTimer = setTimeout(() => { void this.recover() }, this.nextDelayMs)
    this.recoveryTimer.unref()
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.maxRecoveryDelayMs)
  }

  /** Reopens the database and tries a synced write, once the disk has room; on failure, tries again later. */
  private async recover (): Promise<void> {
    const db = this.db
    if (db === undefined || this.failure === undefined) return
    const free = await this.freeBytes(this.location).catch(() => undefined)
    if (this.db !== db) return
    if (free !== undefined && free < this.minFreeBytes) {
      this.log.debug({ free_bytes: free, needed_bytes: this.minFreeBytes }, 'the store\'s disk is still full')
      this.scheduleRecovery()
      return
    }
    try {
      this.reopening = (async () => {
        await Promise.allSettled([...this.inflight])
        await db.close()
        await db.open()
      })()
      await this.reopening
      await db.put(PROBE_KEY, u64(Date.now()), { sync: true })
    } catch (err) {
      if (this.db !== db) return
      const e = opError(err)
      this.log.warn({ reason: e instanceof Error ? e.message : String(e), open: db.status === 'open' }, 'the store still cannot be written: trying again later')
      this.scheduleRecovery()
      return
    } finally {
      this.reopening = undefined
    }
    if (this.db !== db) return
    const since = this.failure.since
    this.failure = undefined
    this.log.info({ failed_ms: Date.now() - since }, 'the store takes writes again')
    for (const w of this.writableWaiters.splice(0)) w.resolve()
  }
}

async function diskFreeBytes (location: string): Promise<number | undefined> {
  const s = await statfs(location)
  return s.bavail * s.bsize
}
