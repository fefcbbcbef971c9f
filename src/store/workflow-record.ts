import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { StoreError, StoreErrorCode } from './errors.js'

/**
 * Status of a workflow run. The byte values are part of the on-disk format (status index):
 * never renumber them.
 */
export const WorkflowStatusByte = {
  pending: 0,
  running: 1,
  paused: 2,
  sleeping: 3,
  completed: 4,
  failed: 5,
  cancelled: 6
} as const

export type WorkflowStatus = keyof typeof WorkflowStatusByte

export const WORKFLOW_STATUSES = Object.keys(WorkflowStatusByte) as WorkflowStatus[]

export interface RunError {
  code: string
  message: string
}

/** A workflow run as the store returns it. Times are milliseconds since the epoch. */
export interface WorkflowRun {
  cid: CID
  name: string
  status: WorkflowStatus
  numTasks: number
  /** Receipts filed under the workflow so far; counted from the receipt membership, never stored. */
  progress: number
  createdAt: number
  updatedAt: number
  retries: number
  restarts: number
  error?: RunError
  /** When a sleeping run should wake up. */
  wakeAt?: number
  /** The wake time of each sleep in progress, by instruction CID, so a restart does not start one over. */
  sleeps?: Record<string, number>
  /**
   * The node stopped gracefully while the run was unfinished (written with its last status
   * when the node stops): resuming it is no sign of a crash. Cleared when it is resumed.
   */
  stoppedCleanly?: true
}

/** What `WorkflowStore.put` takes: the defaults are status `pending`, times now, counters 0. */
export interface NewWorkflowRun {
  cid: CID
  name: string
  numTasks: number
  status?: WorkflowStatus
  createdAt?: number
  updatedAt?: number
  retries?: number
  restarts?: number
  error?: RunError
  wakeAt?: number
  sleeps?: Record<string, number>
}

/**
 * Changes for `WorkflowStore.update`. `updatedAt` defaults to now. `error: null`,
 * `wakeAt: null` and `sleeps: null` remove the field.
 */
export interface WorkflowRunPatch {
  name?: string
  status?: WorkflowStatus
  numTasks?: number
  updatedAt?: number
  retries?: number
  restarts?: number
  error?: RunError | null
  wakeAt?: number | null
  sleeps?: Record<string, number> | null
  /** `true` marks a clean stop, `false` clears the mark. */
  stoppedCleanly?: boolean
}

/** The stored fields (everything but the CID, which is the key, and progress, which is counted). */
export type RunRecord = Omit<WorkflowRun, 'cid' | 'progress'>

/** A run as `put` and `update` wrote it: without its progress (a count of the receipt index, left to the reads that want it). */
export type WrittenRun = Omit<WorkflowRun, 'progress'>

const RECORD_VERSION = 1

export function encodeRecord (r: RunRecord): Uint8Array {
  const value: Record<string, unknown> = {
    v: RECORD_VERSION,
    name: r.name,
    status: r.status,
    numTasks: r.numTasks,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    retries: r.retries,
    restarts: r.restarts
  }
  if (r.error !== undefined) value.error = { code: r.error.code, message: r.error.message }
  if (r.wakeAt !== undefined) value.wakeAt = r.wakeAt
  if (r.sleeps !== undefined) value.sleeps = { ...r.sleeps }
  if (r.stoppedCleanly === true) value.stoppedCleanly = true
  return dagCbor.encode(value)
}

export function decodeRecord (bytes: Uint8Array): RunRecord {
  let v: Record<string, unknown>
  try {
    v = dagCbor.decode(bytes)
  } catch (err) {
    throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'workflow run record is not DAG-CBOR', undefined, { cause: err })
  }
  try {
    if (v === null || typeof v !== 'object' || v.v !== RECORD_VERSION) throw new Error('unknown record version')
    const record: RunRecord = {
      name: str(v.name, 'name'),
      status: status(v.status),
      numTasks: count(v.numTasks, 'numTasks'),
      createdAt: count(v.createdAt, 'createdAt'),
      updatedAt: count(v.updatedAt, 'updatedAt'),
      retries: count(v.retries, 'retries'),
      restarts: count(v.restarts, 'restarts')
    }
    if (v.error !== undefined) {
      const e = v.error as Record<string, unknown>
      record.error = { code: str(e?.code, 'error.code'), message: str(e?.message, 'error.message') }
    }
    if (v.wakeAt !== undefined) record.wakeAt = count(v.wakeAt, 'wakeAt')
    if (v.sleeps !== undefined) record.sleeps = sleepTimes(v.sleeps)
    if (v.stoppedCleanly === true) record.stoppedCleanly = true
    return record
  } catch (err) {
    throw new StoreError(StoreErrorCode.RECORD_CORRUPT, `workflow run record is malformed: ${(err as Error).message}`, undefined, { cause: err })
  }
}

/** Checks a record built from caller input; throws `STORE_INVALID_ARGUMENT`. */
export function validateRecord (r: RunRecord): RunRecord {
  try {
    str(r.name, 'name')
    status(r.status)
    for (const f of ['numTasks', 'createdAt', 'updatedAt', 'retries', 'restarts'] as const) count(r[f], f)
    if (r.error !== undefined) {
      str(r.error.code, 'error.code')
      str(r.error.message, 'error.message')
    }
    if (r.wakeAt !== undefined) count(r.wakeAt, 'wakeAt')
    if (r.sleeps !== undefined) sleepTimes(r.sleeps)
  } catch (err) {
    throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, `invalid workflow run: ${(err as Error).message}`)
  }
  return r
}

/** Applies a patch to a record (pure). */
export function applyPatch (r: RunRecord, patch: WorkflowRunPatch, now: number): RunRecord {
  const next: RunRecord = { ...r, updatedAt: patch.updatedAt ?? now }
  if (patch.name !== undefined) next.name = patch.name
  if (patch.status !== undefined) next.status = patch.status
  if (patch.numTasks !== undefined) next.numTasks = patch.numTasks
  if (patch.retries !== undefined) next.retries = patch.retries
  if (patch.restarts !== undefined) next.restarts = patch.restarts
  if (patch.error === null) delete next.error
  else if (patch.error !== undefined) next.error = { code: patch.error.code, message: patch.error.message }
  if (patch.wakeAt === null) delete next.wakeAt
  else if (patch.wakeAt !== undefined) next.wakeAt = patch.wakeAt
  if (patch.sleeps === null) delete next.sleeps
  else if (patch.sleeps !== undefined) next.sleeps = { ...patch.sleeps }
  if (patch.stoppedCleanly === true) next.stoppedCleanly = true
  else if (patch.stoppedCleanly === false) delete next.stoppedCleanly
  return next
}

function sleepTimes (v: unknown): Record<string, number> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('sleeps must be a map')
  const out: Record<string, number> = {}
  for (const [k, at] of Object.entries(v)) out[k] = count(at, `sleeps.${k}`)
  return out
}

function str (v: unknown, field: string): string {
  if (typeof v !== 'string') throw new Error(`${field} must be a string`)
  return v
}

function count (v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${field} must be a non-negative integer`)
  return v
}

function status (v: unknown): WorkflowStatus {
  if (typeof v !== 'string' || !Object.hasOwn(WorkflowStatusByte, v)) throw new Error(`unknown status ${String(v)}`)
  return v as WorkflowStatus
}
