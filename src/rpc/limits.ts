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

  /** Requests refused so far for want of a token (never reset). */
  refusals = 0

  /** Takes a token; false when there is none left. */
  take (): boolean {
    if (this.unlimited) return true
    this.refill()
    if (this.tokens < 1) {
      this.refusals++
      return false
    }
    this.tokens -= 1
    return true
  }

  /**
   * Charges `tokens` more for a request already admitted whose work is larger than one
   * request's (a workflow's tasks). The budget may go into debt, down to minus `burst`: the
   * client's next requests wait until it is repaid, so one large request is served whole and
   * a stream of them is slowed to the rate.
   */
  charge (tokens: number): void {
    if (this.unlimited || tokens <= 0) return
    this.refill()
    this.tokens = Math.max(-this.burst, this.tokens - tokens)
  }

  /** Milliseconds until the bucket is full again (0 when it is). */
  fullMs (): number {
    if (this.unlimited) return 0
    this.refill()
    return Math.ceil((this.burst - this.tokens) * 1000 / this.rate)
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

/**
 * Whether CBOR bytes nest arrays and maps deeper than `maxDepth` (an array or map is one
 * level, as in JSON; tags add none). One pass over the item heads with a counter per open
 * container, no recursion, so `[[[[…` costs no stack. Bytes that are not well-formed CBOR
 * (cut short, indefinite lengths, which DAG-CBOR forbids) answer false: the decoder that
 * runs afterwards refuses them.
 */
export function cborNestingExceeds (bytes: Uint8Array, maxDepth: number): boolean {
  // items still to come in each open container (a map counts keys and values)
  const open: number[] = []
  let pos = 0
  while (pos < bytes.length) {
    const head = bytes[pos++]
    const major = head >> 5
    const info = head & 31
    let arg: number
    if (info < 24) {
      arg = info
    } else if (info <= 27) {
      const size = 1 << (info - 24)
      if (pos + size > bytes.length) return false
      arg = 0
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i]
      pos += size
    } else {
      return false
    }
    // a tag's item follows it and fills the slot
    if (major === 6) continue
    if (open.length > 0) open[open.length - 1]--
    if (major === 2 || major === 3) {
      if (arg > bytes.length - pos) return false
      pos += arg
    } else if (major === 4 || major === 5) {
      if (open.length + 1 > maxDepth) return true
      const items = major === 5 ? arg * 2 : arg
      if (items > bytes.length - pos) return false
      if (items > 0) {
        open.push(items)
        continue
      }
    }
    while (open.length > 0 && open[open.length - 1] === 0) open.pop()
  }
  return false
}
