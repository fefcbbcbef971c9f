import { setTimeout as sleep } from 'node:timers/promises'

export interface RetryOptions {
  /** Further attempts after the first. */
  retries: number
  /** Delay before the first retry; doubles each time. */
  initialDelayMs: number
  /** Cap on any one delay. */
  maxDelayMs: number
  /** Whether an error may succeed on another attempt. @default () => true */
  shouldRetry?: (err: unknown, attempt: number) => boolean
  /** Called before each retry (metrics, logs). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
  signal?: AbortSignal
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number
}

/**
 * The delay before retry number `attempt` (1-based): exponential backoff with "full jitter"
 * in its upper half, so retries of many tasks spread out but never come sooner than half the
 * nominal delay.
 */
export function backoffDelay (attempt: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const nominal = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1))
  return Math.round(nominal / 2 + random() * nominal / 2)
}

/** An error after every attempt: the last error, and how many attempts were made. */
export class RetriesExhausted extends Error {
  readonly attempts: number
  readonly lastError: unknown
  constructor (lastError: unknown, attempts: number) {
    super(lastError instanceof Error ? lastError.message : String(lastError), { cause: lastError })
    this.name = 'RetriesExhausted'
    this.attempts = attempts
    this.lastError = lastError
  }
}

/**
 * Runs `fn` until it succeeds, an error is not retryable, the retries run out or the signal
 * aborts. Failures reject with `RetriesExhausted` carrying the number of attempts.
 */
export async function retry<T> (fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      const canRetry = attempt <= opts.retries && opts.signal?.aborted !== true && (opts.shouldRetry?.(err, attempt) ?? true)
      if (!canRetry) throw new RetriesExhausted(err, attempt)
      const delay = backoffDelay(attempt, opts.initialDelayMs, opts.maxDelayMs, opts.random)
      opts.onRetry?.(err, attempt, delay)
      try {
        await sleep(delay, undefined, opts.signal !== undefined ? { signal: opts.signal } : {})
      } catch {
        throw new RetriesExhausted(err, attempt)
      }
    }
  }
}
