import { IpvmError } from '../util/errors.js'

/** Stable codes of the errors the compute subsystem raises. */
export const ComputeErrorCode = {
  /** A compute setting is out of range or malformed (`compute.verify`). */
  INVALID_OPTION: 'COMPUTE_INVALID_OPTION',
  /** A peer refused a task at its quotas (`compute.max_in_flight_per_peer`, `compute.max_queued_remote`). */
  BUSY: 'COMPUTE_BUSY',
  /** A task a peer sent cannot run here (malformed, or not the task its CIDs say). */
  INVALID_TASK: 'COMPUTE_INVALID_TASK',
  /** A peer's answer to a task did not pass verification. */
  INVALID_RESULT: 'COMPUTE_INVALID_RESULT',
  /** A peer did not start, or did not deliver, a task in time. */
  TIMEOUT: 'COMPUTE_TIMEOUT',
  /** A peer answered a task with an error. */
  REMOTE_FAILED: 'COMPUTE_REMOTE_FAILED',
  /** A task sent to a peer that had not started it came back because its run was paused. */
  WITHDRAWN: 'COMPUTE_WITHDRAWN'
} as const

export type ComputeErrorCode = typeof ComputeErrorCode[keyof typeof ComputeErrorCode]

export class ComputeError extends IpvmError<ComputeErrorCode> {}
