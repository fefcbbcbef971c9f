import { IpvmError } from '../util/errors.js'

/** Stable codes of the errors the Wasm runtime raises. */
export const RuntimeErrorCode = {
  /** The call ran longer than its `timeoutMs`; the worker was terminated. */
  TIMEOUT: 'RUNTIME_TIMEOUT',
  /** The guest tried to grow its linear memory past `memoryBytes`, or started above it. */
  MEMORY_LIMIT: 'RUNTIME_MEMORY_LIMIT',
  /** The guest trapped (unreachable, out-of-bounds access, stack overflow, invalid output...). */
  TRAP: 'RUNTIME_TRAP',
  /** The caller aborted the call. */
  CANCELLED: 'RUNTIME_CANCELLED',
  /** The worker running the call died (out of JS heap, crash). */
  WORKER_CRASHED: 'RUNTIME_WORKER_CRASHED',
  /** The runner is not started or is stopping. */
  NOT_RUNNING: 'RUNTIME_NOT_RUNNING',
  /** No export matches the function name (after the name variants of §7.2). */
  FUNCTION_NOT_FOUND: 'RUNTIME_FUNCTION_NOT_FOUND',
  /** An argument cannot be converted to the parameter's type, or an argument is missing. */
  BAD_ARGUMENT: 'RUNTIME_BAD_ARGUMENT',
  /** The function returned a value that has no IPLD form (resource handle, non-finite float32...). */
  BAD_OUTPUT: 'RUNTIME_BAD_OUTPUT',
  /** The bytes are neither a valid component, a valid core module nor WAT. */
  INVALID_WASM: 'RUNTIME_INVALID_WASM',
  /** The component imports something this host does not provide (e.g. WASI preview2). */
  MISSING_IMPORT: 'RUNTIME_MISSING_IMPORT'
} as const

export type RuntimeErrorCode = typeof RuntimeErrorCode[keyof typeof RuntimeErrorCode]

/** Codes worth retrying: the same call might succeed next time. */
const RETRYABLE: ReadonlySet<RuntimeErrorCode> = new Set<RuntimeErrorCode>([
  RuntimeErrorCode.TIMEOUT,
  RuntimeErrorCode.MEMORY_LIMIT,
  RuntimeErrorCode.TRAP,
  RuntimeErrorCode.WORKER_CRASHED,
  RuntimeErrorCode.NOT_RUNNING
])

export class RuntimeError extends IpvmError<RuntimeErrorCode> {
  /** Whether retrying the same call could succeed (traps, timeouts, limits, crashes). */
  readonly retryable: boolean

  constructor (code: RuntimeErrorCode, message: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, data, options)
    this.retryable = RETRYABLE.has(code)
  }
}

export function isRetryableCode (code: RuntimeErrorCode): boolean {
  return RETRYABLE.has(code)
}

/** The plain form an error takes when it crosses a worker boundary. */
export interface RuntimeErrorObject {
  code: RuntimeErrorCode
  message: string
  data?: Record<string, unknown>
}

/** `err` itself when it is a `RuntimeError`, else one with `code` and its message (what a worker or the preparation process sends back). */
export function asRuntimeError (err: unknown, code: RuntimeErrorCode): RuntimeError {
  if (err instanceof RuntimeError) return err
  return new RuntimeError(code, err instanceof Error ? err.message : String(err))
}

export function runtimeErrorFromObject (obj: RuntimeErrorObject): RuntimeError {
  return new RuntimeError(obj.code, obj.message, obj.data)
}
