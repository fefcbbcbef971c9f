import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { BlockStore } from './block-store.js'
import { Bucket, concat, key, prefixRange, readU64, u64 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { asCid, cidFromBytes, cidKey } from './hashing.js'
import { KeyedMutex } from './keyed-mutex.js'
import type { BatchOp, LevelController } from './level.js'
import {
  applyPatch, decodeRecord, encodeRecord, validateRecord, WorkflowStatusByte,
  type NewWorkflowRun, type RunRecord, type WorkflowRun, type WorkflowRunPatch, type WorkflowStatus, type WrittenRun
} from './workflow-record.js'

export interface WorkflowStoreComponents {
  level: LevelController
  blocks: BlockStore
  logger: Logger
  /** Clock in ms since the epoch. @default Date.now */
  now?: () => number
}

export interface ListWorkflowsOptions {
  /** Only runs with this status. */
  status?: WorkflowStatus
  /** Page size, 1..1000. @default 50 */
  limit?: number
  /** The `cursor` of the previous page. */
  cursor?: string
}

export interface WorkflowPage {
  runs: WorkflowRun[]
  /** Present when there may be more runs: pass it back to get the next page. */
  cursor?: string
}

export const DEFAULT_LIST_LIMIT = 50
export const MAX_LIST_LIMIT = 1000
const CURSOR_VERSION = 1

/**
 * Workflow runs: one DAG-CBOR record per workflow CID, indexed by creation time and by
 * status. Writes are synchronous (durable when acknowledged) and serialized per workflow,
 * so `update` is an atomic read-modify-write. The workflow's own DAG-CBOR body is kept in
 * the block store under the workflow CID, so a run can be reloaded after a restart.
 */
export class WorkflowStore {
  private readonly level: LevelController
  private readonly blocks: BlockStore
  private readonly log: Logger
  private readonly now: () => number
  private readonly locks = new KeyedMutex()

  constructor (components: WorkflowStoreComponents) {
    this.level = components.level
    this.blocks = components.blocks
    this.log = components.logger
    this.now = components.now ?? Date.now
  }

  /**
   * Creates or replaces a run record. With `body`, the workflow's DAG-CBOR bytes are
   * stored in the same atomic write (checked against the workflow CID). Returns the record
   * written, without its progress (`get` counts it).
   */
  async put (run: NewWorkflowRun, options: { body?: Uint8Array } = {}): Promise<WrittenRun> {
    const cid = asCid(run.cid, 'workflow cid')
    const now = this.now()
    const record = validateRecord({
      name: run.name,
      status: run.status ?? 'pending',
      numTasks: run.numTasks,
      createdAt: run.createdAt ?? now,
      updatedAt: run.updatedAt ?? run.createdAt ?? now,
      retries: run.retries ?? 0,
      restarts: run.restarts ?? 0,
      ...(run.error !== undefined ? { error: run.error } : {}),
      ...(run.wakeAt !== undefined ? { wakeAt: run.wakeAt } : {}),
      ...(run.sleeps !== undefined ? { sleeps: run.sleeps } : {})
    })
    const bodyOps = options.body === undefined ? [] : await this.blocks.putOps(cid, options.body)
    return await this.locks.run(cid.toString(), async () => {
      const previous = await this.read(cid)
      await this.write(cid, previous, record, bodyOps, false)
      return { cid, ...record }
    })
  }

  async get (cid: CID): Promise<WorkflowRun | undefined> {
    const record = await this.read(asCid(cid, 'workflow cid'))
    return record === undefined ? undefined : await this.withProgress(cid, record)
  }

  /**
   * Atomic read-modify-write, serialized per workflow: `patch` may be a function of the
   * current run. Throws `STORE_NOT_FOUND` when there is no run. With `sync`, the write is
   * on disk (survives a power cut) when the promise resolves; without, it survives a crash
   * of the process, and the next synced write makes it durable too. Returns the record
   * written, without its progress (a run's every status change would count its receipts).
   */
  async update (cid: CID, patch: WorkflowRunPatch | ((current: WorkflowRun) => WorkflowRunPatch), options: { sync?: boolean } = {}): Promise<WrittenRun> {
    cid = asCid(cid, 'workflow cid')
    return await this.locks.run(cid.toString(), async () => {
      const previous = await this.read(cid)
      if (previous === undefined) {
        throw new StoreError(StoreErrorCode.NOT_FOUND, `no workflow run ${cid.toString()}`, { cid: cid.toString() })
      }
      const p = typeof patch === 'function' ? patch(await this.withProgress(cid, previous)) : patch
      const next = validateRecord(applyPatch(previous, p, this.now()))
      await this.write(cid, previous, next, [], options.sync ?? false)
      return { cid, ...next }
    })
  }

  /**
   * Runs newest first: ordered by `createdAt` descending, ties by workflow CID bytes
   * descending. The order does not change when runs are updated, so paging with the
   * opaque `cursor` neither skips nor repeats a run.
   */
  async list (options: ListWorkflowsOptions = {}): Promise<WorkflowPage> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, `limit must be an integer in 1..${MAX_LIST_LIMIT}`)
    }
    if (options.status !== undefined && !Object.hasOwn(WorkflowStatusByte, options.status)) {
      throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, `unknown status ${String(options.status)}`)
    }
    const prefix = options.status === undefined
      ? Uint8Array.of(Bucket.workflowsByCreated)
      : Uint8Array.of(Bucket.workflowsByStatus, WorkflowStatusByte[options.status])
    const range = prefixRange(prefix)
    const after = options.cursor === undefined ? undefined : parseCursor(options.cursor)
    const positions: Uint8Array[] = []
    for await (const k of this.level.keys({ gte: range.gte, lt: after === undefined ? range.lt : concat(prefix, after), reverse: true, limit: limit + 1 })) {
      positions.push(k.subarray(prefix.byteLength))
    }
    const more = positions.length > limit
    const page = positions.slice(0, limit)
    const cids = page.map(p => cidFromBytes(p.subarray(8)))
    const records = await this.level.getMany(cids.map(c => key(Bucket.workflowRuns, cidKey(c))))
    const runs = await Promise.all(cids.map(async (cid, i) => {
      const bytes = records[i]
      if (bytes === undefined) {
        throw new StoreError(StoreErrorCode.RECORD_CORRUPT, `index names a missing workflow run ${cid.toString()}`, { cid: cid.toString() })
      }
      return await this.withProgress(cid, decodeRecord(bytes))
    }))
    return more ? { runs, cursor: makeCursor(page[page.length - 1]) } : { runs }
  }

  /** Stores the workflow's DAG-CBOR body (checked against the workflow CID). */
  async putBody (cid: CID, body: Uint8Array): Promise<void> {
    await this.blocks.put(asCid(cid, 'workflow cid'), body, { sync: true })
  }

  /** The workflow's DAG-CBOR body, verified; undefined when it was never stored. */
  async getBody (cid: CID): Promise<Uint8Array | undefined> {
    return await this.blocks.get(asCid(cid, 'workflow cid'))
  }

  private async read (cid: CID): Promise<RunRecord | undefined> {
    const bytes = await this.level.get(key(Bucket.workflowRuns, cidKey(cid)))
    return bytes === undefined ? undefined : decodeRecord(bytes)
  }

  private async write (cid: CID, previous: RunRecord | undefined, next: RunRecord, extra: BatchOp[], sync: boolean): Promise<void> {
    const c = cidKey(cid)
    const ops: BatchOp[] = [...extra]
    if (previous !== undefined) {
      ops.push({ type: 'del', key: key(Bucket.workflowsByCreated, u64(previous.createdAt), c) })
      ops.push({ type: 'del', key: key(Bucket.workflowsByStatus, Uint8Array.of(WorkflowStatusByte[previous.status]), u64(previous.createdAt), c) })
    }
    // deletes come first in the batch, so re-putting an unchanged index key keeps it
    ops.push({ type: 'put', key: key(Bucket.workflowRuns, c), value: encodeRecord(next) })
    ops.push({ type: 'put', key: key(Bucket.workflowsByCreated, u64(next.createdAt), c), value: new Uint8Array(0) })
    ops.push({ type: 'put', key: key(Bucket.workflowsByStatus, Uint8Array.of(WorkflowStatusByte[next.status]), u64(next.createdAt), c), value: new Uint8Array(0) })
    // Not synced unless asked (control changes): a run record survives a crash of the
    // process (the write is in the OS's hands once the batch returns) and the next synced
    // receipt write makes it durable on disk too; an fsync per status change would double
    // the cost of a short run.
    await this.level.batch(ops, { sync })
    this.log.debug({ workflow: cid.toString(), status: next.status, previous: previous?.status }, 'workflow run written')
  }

  private async withProgress (cid: CID, record: RunRecord): Promise<WorkflowRun> {
    const progress = await this.level.count(prefixRange(key(Bucket.workflowReceipts, cidKey(cid))))
    return { cid, ...record, progress }
  }
}

function makeCursor (position: Uint8Array): string {
  return Buffer.from(concat(Uint8Array.of(CURSOR_VERSION), position)).toString('base64url')
}

/** Cursor → index position (createdAt ‖ CID) to continue below. */
function parseCursor (cursor: string): Uint8Array {
  const bytes = typeof cursor === 'string' && /^[A-Za-z0-9_-]+$/.test(cursor) ? new Uint8Array(Buffer.from(cursor, 'base64url')) : undefined
  if (bytes === undefined || bytes.byteLength < 10 || bytes[0] !== CURSOR_VERSION) {
    throw new StoreError(StoreErrorCode.INVALID_CURSOR, 'invalid cursor')
  }
  const position = bytes.subarray(1)
  try {
    readU64(position)
    cidFromBytes(position.subarray(8))
  } catch {
    throw new StoreError(StoreErrorCode.INVALID_CURSOR, 'invalid cursor')
  }
  return position
}
