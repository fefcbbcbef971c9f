/**
 * Base class of every error the node raises on purpose. `code` is stable and
 * prefixed by its subsystem (`CONFIG_UNKNOWN_KEY`, `STORE_LOCKED`, ...): tests
 * and clients compare codes, never messages. `data` is structured detail that is
 * safe to show to an API client.
 */
export class IpvmError<C extends string = string> extends Error {
  readonly code: C
  readonly data?: Record<string, unknown>

  constructor (code: C, message: string, data?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    if (data !== undefined) this.data = data
  }

  /** Plain object form: crosses worker boundaries and goes into logs. */
  toObject (): { name: string, code: C, message: string, data?: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, ...(this.data !== undefined ? { data: this.data } : {}) }
  }
}

export function isIpvmError (err: unknown): err is IpvmError {
  return err instanceof IpvmError
}

/**
 * What an aborted signal's waiters fail with: its reason, as is when it is an Error (every
 * signal of this node aborts with one); anything else wrapped in an Error, as its `cause`.
 */
export function abortReason (signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error) return reason
  return new Error(typeof reason === 'string' ? reason : 'aborted', { cause: reason })
}

/** The message of anything thrown, for logs and error payloads. */
export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
