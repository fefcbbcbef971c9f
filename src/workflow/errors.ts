import { IpvmError } from '../util/errors.js'

export const WorkflowErrorCode = {
  /** The workflow is not well formed (shape, duplicate tasks, unknown awaits). */
  INVALID: 'WORKFLOW_INVALID',
  /** Two tasks have the same instruction CID: add a nonce. */
  DUPLICATE_TASK: 'WORKFLOW_INVALID_DUPLICATE_TASK',
  /** An await names an instruction that is neither in the workflow nor has a receipt. */
  UNKNOWN_AWAIT: 'WORKFLOW_INVALID_UNKNOWN_AWAIT',
  /** An operation other than the ones this node runs. */
  UNSUPPORTED_OP: 'WORKFLOW_INVALID_UNSUPPORTED_OP',
  /** An `ipvm/sleep` task whose input is not `{duration_ms}` or `{until}` (with an optional `value`). */
  INVALID_SLEEP_INPUT: 'WORKFLOW_INVALID_SLEEP_INPUT',
  /** A run that is not known to this node. */
  NOT_FOUND: 'WORKFLOW_NOT_FOUND',
  /** No receipt for the CID asked about (neither a receipt CID nor an instruction with a receipt). */
  RECEIPT_NOT_FOUND: 'WORKFLOW_RECEIPT_NOT_FOUND',
  /** A run interrupted by node crashes more times than `workflow.max_restarts` allows (graceful stops do not count). */
  RESTARTS_EXCEEDED: 'WORKFLOW_RESTARTS_EXCEEDED',
  /** A run left unfinished by a previous process could not be loaded again (body missing or unreadable). */
  RELOAD_FAILED: 'WORKFLOW_RELOAD_FAILED',
  /** A task whose awaited task failed. */
  DEPENDENCY_FAILED: 'WORKFLOW_DEPENDENCY_FAILED',
  /** A resource (Wasm, input file) could not be fetched. */
  RESOURCE_UNAVAILABLE: 'WORKFLOW_RESOURCE_UNAVAILABLE',
  /** The run was cancelled. */
  CANCELLED: 'WORKFLOW_CANCELLED',
  /** A state change that the run's status does not allow (e.g. resume a completed run). */
  STATE: 'WORKFLOW_STATE',
  /** Too many runs at once: workflow.max_runs are executing and workflow.max_queued_runs waiting. */
  BUSY: 'WORKFLOW_BUSY',
  /** More tasks than workflow.max_tasks. */
  TOO_LARGE: 'WORKFLOW_TOO_LARGE',
  /** A run name longer than `MAX_RUN_NAME_BYTES`. */
  NAME_TOO_LONG: 'WORKFLOW_NAME_TOO_LONG'
} as const
export type WorkflowErrorCode = typeof WorkflowErrorCode[keyof typeof WorkflowErrorCode]

export class WorkflowError extends IpvmError<WorkflowErrorCode> {}
