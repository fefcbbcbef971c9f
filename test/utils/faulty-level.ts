import { MemoryLevel } from 'memory-level'
import { Store } from '../../src/store/index.js'
import type { BatchOp, Bytes, Database, RangeOptions } from '../../src/store/level.js'
import { silentLogger, type Logger } from '../../src/util/logger.js'

/** The error classic-level raises when LevelDB cannot append to its log on a full disk. */
export function noSpaceError (): Error {
  return Object.assign(new Error('IO error: /data/store/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
}

/**
 * An in-memory database whose disk can fill up, and which then misbehaves as LevelDB was
 * seen to (classic-level 3, on a full tmpfs):
 * - `torn`: a failed write leaves a torn record at the end of the log; later writes on the
 *   same handle report success, but are gone once the database is opened again;
 * - `sticky`: a failed compaction sets a background error; every later write on the same
 *   handle fails, even once space is back, until the database is opened again.
 * `writes` counts the writes that reached it, `opens` the times it was opened, `synced` the
 * keys of the last synced write that succeeded.
 */
export class FaultyLevel implements Database {
  private readonly inner = new MemoryLevel<Bytes, Bytes>({ keyEncoding: 'view', valueEncoding: 'view' })
  /** The disk is full: every write fails with ENOSPC. */
  full = false
  writes = 0
  opens = 0
  synced: Bytes[] = []
  /** A write failed since the last open. */
  private broken = false
  /** What the writes acknowledged after a torn record overwrote, to put back when the database closes. */
  private lost: Array<{ key: Bytes, previous: Bytes | undefined }> = []

  constructor (readonly mode: 'torn' | 'sticky' = 'torn') {}

  get status (): string { return this.inner.status }

  async open (): Promise<void> {
    await this.inner.open()
    this.broken = false
    this.opens++
  }

  async close (): Promise<void> {
    if (this.inner.status === 'open') {
      for (const { key, previous } of this.lost.reverse()) {
        if (previous === undefined) await this.inner.del(key)
        else await this.inner.put(key, previous)
      }
    }
    this.lost = []
    await this.inner.close()
  }

  async get (key: Bytes): Promise<Bytes | undefined> { return await this.inner.get(key) }
  async getMany (keys: Bytes[]): Promise<Array<Bytes | undefined>> { return await this.inner.getMany(keys) }
  async hasMany (keys: Bytes[]): Promise<boolean[]> { return await this.inner.hasMany(keys) }
  iterator (range: RangeOptions): AsyncIterable<[Bytes, Bytes]> & { close(): Promise<void> } { return this.inner.iterator(range) }
  keys (range: RangeOptions): AsyncIterable<Bytes> & { close(): Promise<void> } { return this.inner.keys(range) }

  async put (key: Bytes, value: Bytes, options: { sync: boolean }): Promise<void> {
    await this.batch([{ type: 'put', key, value }], options)
  }

  async batch (ops: BatchOp[], options: { sync: boolean }): Promise<void> {
    this.writes++
    if (this.full || (this.broken && this.mode === 'sticky')) {
      this.broken = true
      throw noSpaceError()
    }
    if (this.broken) {
      for (const op of ops) this.lost.push({ key: op.key, previous: await this.inner.get(op.key) })
    }
    await this.inner.batch(ops)
    if (options.sync) this.synced = ops.map(op => op.key)
  }
}

/** A started store on a `FaultyLevel`, which recovers quickly (10 ms back-off) and sees the disk as full while the database is. */
export async function faultyStore (mode: 'torn' | 'sticky' = 'torn', logger: Logger = silentLogger()): Promise<{ store: Store, db: FaultyLevel }> {
  const db = new FaultyLevel(mode)
  const store = new Store({ dataDir: ':memory:', recovery: { recoveryDelayMs: 10, maxRecoveryDelayMs: 40, minFreeBytes: 1 } }, {
    logger,
    database: () => db,
    freeBytes: () => Promise.resolve(db.full ? 0 : 1024 * 1024 * 1024)
  })
  await store.start()
  return { store, db }
}
