import { abortReason } from './errors.js'
import { RoundRobinQueue } from './round-robin.js'

interface Waiter<K> {
  key: K
  grant: () => void
}

/**
 * Up to `limit` holders at once, shared fairly between keys (the workflow runs): waiters
 * are served a key at a time in turn, and a key that holds nothing may always enter, beyond
 * the limit if need be. So however many holders one key keeps for however long, another
 * key is never stuck behind it; holders beyond the limit are bounded by the number of keys.
 */
export class FairSemaphore<K> {
  private inUse = 0
  private readonly held = new Map<K, number>()
  private readonly waiters = new RoundRobinQueue<K, Waiter<K>>()

  constructor (private readonly limit: number) {}

  /** Holders at the moment, over all keys. */
  get holders (): number { return this.inUse }

  /** Waiters at the moment, over all keys. */
  get waiting (): number { return this.waiters.size }

  /** Resolves to a release function once `key` may hold one more; rejects when `signal` aborts while waiting. */
  async acquire (key: K, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) throw abortReason(signal)
    if (this.mayEnter(key)) return this.enter(key)
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter<K> = {
        key,
        grant: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      const onAbort = (): void => {
        this.waiters.remove(key, waiter)
        reject(abortReason(signal!))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(key, waiter)
    })
    return this.releaser(key)
  }

  private mayEnter (key: K): boolean {
    return this.inUse < this.limit || (this.held.get(key) ?? 0) === 0
  }

  private enter (key: K): () => void {
    this.inUse++
    this.held.set(key, (this.held.get(key) ?? 0) + 1)
    return this.releaser(key)
  }

  private releaser (key: K): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.inUse--
      const n = (this.held.get(key) ?? 1) - 1
      if (n === 0) this.held.delete(key)
      else this.held.set(key, n)
      this.wake()
    }
  }

  /** Lets waiters in, a key at a time in turn, while they may enter. */
  private wake (): void {
    for (;;) {
      const next = this.waiters.take(key => this.mayEnter(key))
      if (next === undefined) return
      this.inUse++
      this.held.set(next.key, (this.held.get(next.key) ?? 0) + 1)
      next.grant()
    }
  }
}
