/**
 * First-in-first-out queues, one per key, served in turn: `take` hands out the head of one
 * key's queue, then that key goes to the back of the line. A key with many items waits its
 * turn like a key with one, so no key can hold the others back by queueing more.
 */
export class RoundRobinQueue<K, T> {
  /** Keys with items, in turn order (a Map iterates in insertion order). */
  private readonly queues = new Map<K, T[]>()
  private count = 0

  /** Items queued, over all keys. */
  get size (): number { return this.count }

  /** Keys that have items queued, in turn order. */
  keys (): IterableIterator<K> {
    return this.queues.keys()
  }

  /** Items queued under `key`. */
  sizeOf (key: K): number {
    return this.queues.get(key)?.length ?? 0
  }

  /** Whether a key other than `key` has items queued. */
  othersWaiting (key: K): boolean {
    return this.queues.size > (this.queues.has(key) ? 1 : 0)
  }

  push (key: K, item: T): void {
    const queue = this.queues.get(key)
    if (queue === undefined) this.queues.set(key, [item])
    else queue.push(item)
    this.count++
  }

  /** Puts an item back at the head of its key's queue (the key keeps its place in the turn). */
  unshift (key: K, item: T): void {
    const queue = this.queues.get(key)
    if (queue === undefined) this.queues.set(key, [item])
    else queue.unshift(item)
    this.count++
  }

  /** Removes an item; false when it is not queued. */
  remove (key: K, item: T): boolean {
    const queue = this.queues.get(key)
    const i = queue?.indexOf(item) ?? -1
    if (queue === undefined || i < 0) return false
    queue.splice(i, 1)
    if (queue.length === 0) this.queues.delete(key)
    this.count--
    return true
  }

  /**
   * The head item of the first key in turn that `eligible` accepts (every key when omitted);
   * that key moves to the back of the turn. Undefined when no key qualifies.
   */
  take (eligible?: (key: K) => boolean): T | undefined {
    for (const [key, queue] of this.queues) {
      if (eligible !== undefined && !eligible(key)) continue
      const item = queue.shift() as T
      this.count--
      this.queues.delete(key)
      if (queue.length > 0) this.queues.set(key, queue)
      return item
    }
    return undefined
  }

  /** Empties every queue and returns what was in them. */
  drain (): T[] {
    const all = [...this.queues.values()].flat()
    this.queues.clear()
    this.count = 0
    return all
  }
}
