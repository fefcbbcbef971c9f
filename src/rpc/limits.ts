/**
 * Guards the transports apply before a message reaches the router: a nesting check that
 * runs without recursion, and a token bucket for request rates.
 */

/**
 * Whether JSON text nests arrays and objects deeper than `maxDepth`. One linear pass over
 * the characters, skipping strings, so a hostile `[[[[…` costs no stack and no allocation.
 * The text need not be valid JSON: the parser that runs afterwards reports syntax errors.
 */
export function jsonNestingExceeds (text: string, maxDepth: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) {
      inString = true
    } else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return true
    } else if (c === 93 || c === 125) {
      depth--
    }
  }
  return false
}

export interface TokenBucketOptions {
  /** Tokens added per second; 0 means no limit. */
  ratePerSecond: number
  /** Most tokens held at once: how many requests may come in one go. */
  burst: number
}

/**
 * A token bucket: starts full with `burst` tokens, refills at `ratePerSecond`, and each
 * request takes one. Time comes from `now` (milliseconds) so tests can drive it.
 */
export class TokenBucket {
  readonly rate: number
  readonly burst: number
  private tokens: number
  private last: number
  private readonly now: () => number

  constructor (opts: TokenBucketOptions, now: () => number = () => performance.now()) {
    this.rate = opts.ratePerSecond
    this.burst = Math.max(1, opts.burst)
    this.tokens = this.burst
    this.now = now
    this.last = now()
  }

  get unlimited (): boolean {
    return this.rate <= 0
  }

  /** Takes a token; false when there is none left. */
  take (): boolean {
    if (this.unlimited) return true
    this.refill()
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Milliseconds until the next token is available (0 when one is). */
  waitMs (): number {
    if (this.unlimited) return 0
    this.refill()
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * 1000 / this.rate)
  }

  private refill (): void {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.rate / 1000)
    this.last = t
  }
}
