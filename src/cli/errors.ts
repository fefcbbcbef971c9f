import { IpvmError } from '../util/errors.js'

/** Stable codes of the errors the `ipvm` command raises itself (the node's own codes pass through). */
export const CliErrorCode = {
  /** A flag or argument with a wrong value. */
  USAGE: 'CLI_USAGE',
  /** A file that cannot be read (missing, a folder, no permission). */
  FILE_UNREADABLE: 'CLI_FILE_UNREADABLE',
  /** A workflow file that is not JSON (empty, truncated, YAML, ...). */
  NOT_JSON: 'CLI_NOT_JSON',
  /** A workflow file whose content is not a workflow (Homestar's, or the authoring form). */
  INVALID_WORKFLOW: 'CLI_INVALID_WORKFLOW',
  /** No node answers at the address, or the node's port is taken by something else. */
  NODE_UNREACHABLE: 'CLI_NODE_UNREACHABLE',
  /** The node closed the connection before answering or before the run ended. */
  NODE_LOST: 'CLI_NODE_LOST',
  /** The node requires a token, or refused the one given. */
  UNAUTHORIZED: 'CLI_UNAUTHORIZED',
  /** `--timeout` passed without news of the run. */
  TIMEOUT: 'CLI_TIMEOUT',
  /** The data folder is held by another process that serves no API. */
  DATA_DIR_BUSY: 'CLI_DATA_DIR_BUSY',
  /** `ipvm stop` found no node, or the node did not stop in time. */
  NO_NODE: 'CLI_NO_NODE',
  /** A file already exists where the command would write. */
  EXISTS: 'CLI_EXISTS',
  /** Something the command did not expect (a bug, or an error without a code). */
  UNEXPECTED: 'CLI_UNEXPECTED'
} as const
export type CliErrorCode = typeof CliErrorCode[keyof typeof CliErrorCode]

/** Exit codes of `ipvm` (README, "The ipvm command"). */
export const ExitCode = {
  OK: 0,
  /** The workflow failed, or the command did (the error line says why). */
  FAILED: 1,
  /** A wrong flag, argument or file: nothing was done. */
  USAGE: 2,
  /** The workflow run was cancelled. */
  CANCELLED: 3,
  /** No node could be reached, or the node went away before the end. */
  UNREACHABLE: 4,
  /** `--timeout` passed. */
  TIMEOUT: 5,
  /** Ctrl-C (SIGINT) during `ipvm run` with a node started for the run. */
  INTERRUPTED: 130
} as const

/** A failure the command reports on one line (message, code, hint) and exits with; no stack trace. */
export class CliError extends IpvmError {
  readonly exitCode: number
  /** What the user can do about it. */
  readonly hint?: string

  constructor (code: string, message: string, opts: { hint?: string, exitCode?: number, cause?: unknown } = {}) {
    super(code, message, undefined, opts.cause !== undefined ? { cause: opts.cause } : undefined)
    this.exitCode = opts.exitCode ?? ExitCode.FAILED
    if (opts.hint !== undefined) this.hint = opts.hint
  }
}

/** A wrong flag value: exit 2. */
export function usageError (message: string, hint?: string): CliError {
  return new CliError(CliErrorCode.USAGE, message, { exitCode: ExitCode.USAGE, ...(hint !== undefined ? { hint } : {}) })
}
