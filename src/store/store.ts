import * as dagCbor from '@ipld/dag-cbor'
import { join } from 'node:path'
import type { Startable } from '../util/lifecycle.js'
import type { Logger } from '../util/logger.js'
import type { StoreMetrics } from '../metrics/index.js'
import { BlockStore } from './block-store.js'
import { BlockstoreAdapter } from './blockstore-adapter.js'
import { Bucket, key, utf8 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { LevelController, type LevelControllerComponents, type LevelControllerOptions } from './level.js'
import { ReceiptStore } from './receipt-store.js'
import { WorkflowStore } from './workflow-store.js'

/**
 * Version of the on-disk layout written by this code (`Bucket` numbers, key and value forms).
 * 2 adds `receiptFirstOk`; a version 1 store is upgraded when it opens.
 */
export const SCHEMA_VERSION = 2

const SCHEMA_KEY = key(Bucket.meta, utf8('schemaVersion'))

export interface StoreOptions {
  /** The node's data directory; the database lives in `<dataDir>/store`. */
  dataDir: string
  /** How the store gets writes going again after a write failed (`LevelControllerOptions`). @default 1 s doubling to 30 s, 16 MiB free */
  recovery?: Pick<LevelControllerOptions, 'recoveryDelayMs' | 'maxRecoveryDelayMs' | 'minFreeBytes'>
}

export interface StoreComponents {
  logger: Logger
  /** Clock in ms since the epoch, for workflow run times. @default Date.now */
  now?: () => number
  /** Builds the database instead of LevelDB in `<dataDir>/store` (an in-memory one for tests). */
  database?: LevelControllerComponents['database']
  /** Free bytes on the store's disk (tests). @default `statfs` */
  freeBytes?: LevelControllerComponents['freeBytes']
  /** `ipvm_store_size_bytes` is read from the store when metrics are read. */
  metrics?: StoreMetrics
}

/** How long a successful read of the store vouches for its health. */
const HEALTH_PROBE_INTERVAL_MS = 1000

export interface StoreHealth {
  /** Time of one real read from the database, in milliseconds. */
  latencyMs: number
}

/**
 * The node's persistent state in one LevelDB database: content-addressed blocks,
 * receipts with their indexes, and workflow runs. `start()` opens the database (and fails
 * with `STORE_LOCKED` if another process has it open); `stop()` closes it.
 */
export class Store implements Startable {
  readonly location: string
  readonly blocks: BlockStore
  readonly receipts: ReceiptStore
  readonly workflows: WorkflowStore
  private readonly level: LevelController
  private readonly log: Logger
  private started = false
  private lastHealthyAt = 0
  private readonly metrics?: StoreMetrics
  private lifecycle: Promise<unknown> = Promise.resolve()

  constructor (options: StoreOptions, components: StoreComponents) {
    if (components.metrics !== undefined) this.metrics = components.metrics
    this.location = join(options.dataDir, 'store')
    this.log = components.logger.child({ module: 'store' })
    this.level = new LevelController({ location: this.location, ...options.recovery }, {
      logger: this.log,
      ...(components.database !== undefined ? { database: components.database } : {}),
      ...(components.freeBytes !== undefined ? { freeBytes: components.freeBytes } : {})
    })
    this.blocks = new BlockStore({ level: this.level, logger: this.log })
    this.receipts = new ReceiptStore({ level: this.level, logger: this.log })
    this.workflows = new WorkflowStore({
      level: this.level,
      blocks: this.blocks,
      logger: this.log,
      ...(components.now !== undefined ? { now: components.now } : {})
    })
  }

  /** Opens the database. Start and stop calls are serialized; a second start does nothing. */
  async start (): Promise<void> {
    await this.serially(async () => {
      if (this.started) return
      try {
        await this.level.start()
        await this.checkSchema()
        await this.receipts.start()
      } catch (err) {
        await this.level.stop().catch(() => {})
        throw err
      }
      this.started = true
      this.metrics?.sizeBytes.setCollector(async () => await this.sizeBytes())
      this.log.debug({ location: this.location }, 'store started')
    })
  }

  /** Waits for writes in flight and closes the database. Safe to call twice. */
  async stop (): Promise<void> {
    await this.serially(async () => {
      if (!this.started) return
      this.started = false
      await this.level.stop()
    })
  }

  /**
   * Whether the store works, cheaply enough to be asked by every probe and load balancer:
   * writes are not suspended after a failure (`STORE_NO_SPACE`, `STORE_IO`, saying since
   * when and why), and one real read, at most once a second, answers. Undefined when the
   * answer is known without waiting (a read answered within the last second); otherwise a
   * promise that rejects like `ping`, or with the write failure.
   */
  checkHealth (): Promise<void> | undefined {
    const failure = this.level.writeFailure
    if (failure !== undefined) {
      const { error, since } = failure
      return Promise.reject(new StoreError(error.code, `store writes are failing since ${new Date(since).toISOString()}: ${error.message}`, { since, reason: error.message }))
    }
    if (Date.now() - this.lastHealthyAt < HEALTH_PROBE_INTERVAL_MS) return undefined
    return this.ping().then(() => { this.lastHealthyAt = Date.now() })
  }

  /**
   * Resolves once the store takes writes: at once, or, after a write failed, when it has
   * recovered (reopened, a write landed). Rejects when the store stops first.
   */
  async whenWritable (): Promise<void> {
    await this.level.whenWritable()
  }

  /**
   * Health check: one real read from the database. Throws `STORE_NOT_OPEN` when the store
   * is not started and `STORE_IO` if LevelDB fails.
   */
  async ping (): Promise<StoreHealth> {
    const { latencyMs, found } = await this.level.ping(SCHEMA_KEY)
    if (!found) throw new StoreError(StoreErrorCode.IO, 'store meta record is missing')
    return { latencyMs }
  }

  /** Disk usage of the database directory in bytes. */
  async sizeBytes (): Promise<number> {
    return await this.level.sizeBytes()
  }

  /** `interface-blockstore` view of the blocks (for UnixFS and other IPFS libraries). */
  asBlockstore (): BlockstoreAdapter {
    return new BlockstoreAdapter(this.blocks)
  }

  private async serially (fn: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(fn, fn)
    this.lifecycle = run.catch(() => {})
    await run
  }

  private async checkSchema (): Promise<void> {
    const stored = await this.level.get(SCHEMA_KEY)
    if (stored === undefined) {
      await this.level.put(SCHEMA_KEY, dagCbor.encode(SCHEMA_VERSION), { sync: true })
      return
    }
    let version: unknown
    try {
      version = dagCbor.decode(stored)
    } catch (err) {
      throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'schema version record is corrupt', undefined, { cause: err })
    }
    if (typeof version !== 'number' || version > SCHEMA_VERSION || version < 1) {
      throw new StoreError(StoreErrorCode.SCHEMA_UNSUPPORTED, `store schema version ${String(version)} is not supported (this node writes ${SCHEMA_VERSION})`, { version: String(version), supported: SCHEMA_VERSION })
    }
    if (version === 1) await this.upgradeFrom1()
  }

  /**
   * 1 → 2: writes each instruction's first `ok` receipt (lowest write sequence) into
   * `receiptFirstOk`, from the instruction index, and the new version, in one synced batch.
   */
  private async upgradeFrom1 (): Promise<void> {
    const ops = await this.receipts.firstOkIndexOps()
    const instructions = ops.length
    ops.push({ type: 'put', key: SCHEMA_KEY, value: dagCbor.encode(SCHEMA_VERSION) })
    await this.level.batch(ops, { sync: true })
    this.log.info({ from: 1, to: SCHEMA_VERSION, instructions }, 'store upgraded')
  }

}
