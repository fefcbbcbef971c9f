import type { Artifact } from '../artifacts/artifact.js'
import type { PreparedFiles } from '../artifacts/prepare.js'
import type { RuntimeErrorObject } from '../errors.js'
import type { WasmLog } from '../host.js'

/** Messages between the main thread and the runtime workers (all structured-cloneable). */

export interface CallRequest {
  /** Cache key of the artifact (the resource CID). */
  key: string
  /** Name on jco's exports object (components) or the core export name. */
  exportName: string
  /** Arguments already in the form the bindings take. */
  args: unknown[]
  /** Cap of each guarded memory, in 64 KiB pages. */
  memoryPages: number
  /** The function returns a WIT `result`: a thrown non-Error is its `err` payload. */
  returnsResult: boolean
}

export interface CallOutcome {
  /** The bindings' return value; for `result` functions `{ tag, val }`. */
  value: unknown
  logs: WasmLog[]
  droppedLogs: number
}

export type ToWorker =
  | { type: 'run', id: number, artifact?: Artifact, request: CallRequest }
  | { type: 'forget', key: string }

export type FromWorker =
  /** `tid`: the worker's thread id, where the OS gives one (its priority can then be changed). */
  | { type: 'ready', tid?: number }
  | { type: 'done', id: number, outcome: CallOutcome }
  | { type: 'failed', id: number, error: RuntimeErrorObject, logs?: WasmLog[] }

/** To the preparation process (a child process; see prepare-process.ts). */
export type ToPreparer = { type: 'prepare', id: number, bytes: Uint8Array }

export type FromPreparer =
  | { type: 'prepared', id: number, prepared: PreparedFiles }
  | { type: 'failed', id: number, error: RuntimeErrorObject }
