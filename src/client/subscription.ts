/**
 * Notifications of one subscription, as an async iterator. Ends when the subscription is
 * closed (`close()`, `return()` from a `for await`, or the connection closing).
 */
export class SubscriptionStream<T = unknown> implements AsyncIterableIterator<T> {
  readonly id: string
  private readonly queue: T[] = []
  private waiting?: { resolve: (r: IteratorResult<T>) => void, reject: (e: Error) => void }
  private ended = false
  private failure?: Error
  private readonly unsubscribe: () => Promise<void>

  constructor (id: string, unsubscribe: () => Promise<void>) {
    this.id = id
    this.unsubscribe = unsubscribe
  }

  /** @internal */
  push (value: T): void {
    if (this.ended) return
    if (this.waiting !== undefined) {
      const w = this.waiting
      this.waiting = undefined
      w.resolve({ value, done: false })
    } else {
      this.queue.push(value)
    }
  }

  /** @internal */
  end (err?: Error): void {
    if (this.ended) return
    this.ended = true
    this.failure = err
    const w = this.waiting
    this.waiting = undefined
    if (w !== undefined) {
      if (err !== undefined) w.reject(err)
      else w.resolve({ value: undefined, done: true })
    }
  }

  async next (): Promise<IteratorResult<T>> {
    const value = this.queue.shift()
    if (value !== undefined) return { value, done: false }
    if (this.ended) {
      if (this.failure !== undefined) throw this.failure
      return { value: undefined, done: true }
    }
    return await new Promise((resolve, reject) => { this.waiting = { resolve, reject } })
  }

  /** Waits for the next notification, failing after `timeoutMs`. */
  async nextWithin (timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no notification within ${timeoutMs} ms`)), timeoutMs) })
    try {
      const r = await Promise.race([this.next(), timeout])
      if (r.done === true) throw new Error('subscription ended')
      return r.value
    } finally {
      clearTimeout(timer)
    }
  }

  async return (): Promise<IteratorResult<T>> {
    await this.close()
    return { value: undefined, done: true }
  }

  async close (): Promise<void> {
    if (this.ended) return
    this.end()
    await this.unsubscribe().catch(() => {})
  }

  [Symbol.asyncIterator] (): this {
    return this
  }
}
