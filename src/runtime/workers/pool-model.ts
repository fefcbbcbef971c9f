import type { ResourceLimits, Worker } from 'node:worker_threads'
import type { Artifact } from '../artifacts/artifact.js'
import { RuntimeError, RuntimeErrorCode } from '../errors.js'
import type { BusyClock } from './busy-clock.js'
import type { WasmLog } from '../host.js'
import type { CallOutcome, CallRequest } from './protocol.js'

/** The worker pool's options, its calls and its workers. */

export interface WorkerPoolOptions {
  /**
   * Workers running calls at once (besides extra ones). The first starts when a call waits for
   * it; each further one once calls have kept waiting `growAfterMs` with no worker starting
   * and the running ones busy at least half that time (`GrowthWatch`).
   */
  size: number
  /** @default 50 */
  growAfterMs?: number
  /** How long a worker stays idle, ready for the next call, before it stops. @default 10_000 */
  idleMs?: number
  resourceLimits: ResourceLimits
  /** Workers beyond `size` that may be started for groups left without one (relief). @default 2 × size */
  maxExtraWorkers?: number
  /** How long every busy worker's call must have run before a group left without a worker gets an extra one. @default 250 */
  reliefAfterMs?: number
  /** How long an extra worker stays idle, ready for the next group left without one, before it stops. @default 5000 */
  extraIdleMs?: number
  /** How long a call runs before its thread goes to the lowest priority. @default 100 (`LONG_CALL_MS`) */
  longCallMs?: number
  /**
   * How long the pool runs no call (none running, none waiting) before every worker but one
   * stops, the last staying for `idleMs`. @default 1000
   */
  quietMs?: number
  /** Called when the pool has been quiet for `quietMs` after running calls (once each time). */
  onQuiet?: () => void
}

/** A failed call, with what the guest logged before failing. */
export class CallFailure extends Error {
  constructor (readonly error: RuntimeError, readonly logs: WasmLog[]) {
    super(error.message)
  }
}

/** How many workers there are and what they do, for tests and diagnostics. */
export interface PoolStats {
  /** Worker threads alive or starting, extra ones included. */
  workers: number
  /** Extra workers among them. */
  extra: number
  /** Workers running a call. */
  busy: number
  /** Calls waiting for a worker. */
  queued: number
  /** Workers running a long call at the lowest priority. */
  lowPriority: number
  /** Calls that ran long enough to go to the lowest priority, since the pool started. */
  longCalls: number
  /** Workers each group holds. */
  groups: Record<string, number>
}

export interface Job {
  id: number
  group: string
  request: CallRequest
  artifact: Artifact
  timeoutMs: number
  signal?: AbortSignal
  resolve: (outcome: CallOutcome) => void
  reject: (failure: CallFailure) => void
  settled: boolean
  timer?: NodeJS.Timeout
  slot?: Slot
  onAbort?: () => void
  /** When a worker started it (performance.now()). */
  startedAt?: number
}

export interface Slot {
  id: number
  worker: Worker
  ready: boolean
  /** Replaced by a new worker, or let go: its exit must not trigger another respawn. */
  retired: boolean
  /** Started beyond `size` for a group left without a worker; stopped once idle. */
  extra: boolean
  job?: Job
  /** The time the worker spent on calls, by its own clock. */
  clock: BusyClock
  keys: Set<string>
  lastError?: Error
  /** Stops an idle worker. */
  idleTimer?: NodeJS.Timeout
  /** The worker's thread id, when known. */
  tid?: number
  /** Lowers the priority of a call that runs long. */
  longCallTimer?: NodeJS.Timeout
  /** The thread runs at the lowest priority (a long call). */
  demoted?: boolean
}

/** Settles a call once: clears its timer and abort listener, then resolves or rejects it. */
export function settle (job: Job, result: CallOutcome | CallFailure): void {
  if (job.settled) return
  job.settled = true
  if (job.timer !== undefined) clearTimeout(job.timer)
  if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort)
  if (result instanceof CallFailure) job.reject(result)
  else job.resolve(result)
}

export function cancelled (): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.CANCELLED, 'the Wasm call was cancelled')
}
