export interface LruMapOptions<K, V> {
  /** An entry's weight. @default 1 (capacity counts entries) */
  weigh?: (value: V) => number
  /** Called for each entry dropped to make room (not for `delete` or `clear`). */
  onEvict?: (key: K, value: V) => void
}

/**
 * A map that holds at most `capacity` in weight, dropping the least recently used entries
 * first.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>()
  private weight = 0
  private readonly weigh: (value: V) => number
  private readonly onEvict?: (key: K, value: V) => void

  constructor (readonly capacity: number, options: LruMapOptions<K, V> = {}) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`)
    this.weigh = options.weigh ?? (() => 1)
    if (options.onEvict !== undefined) this.onEvict = options.onEvict
  }

  get size (): number { return this.entries.size }

  has (key: K): boolean {
    return this.entries.has(key)
  }

  get (key: K): V | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) {
      // move it to the most recent end
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  set (key: K, value: V): void {
    const w = this.weigh(value)
    if (w > this.capacity) return
    this.delete(key)
    this.entries.set(key, value)
    this.weight += w
    for (const [k, v] of this.entries) {
      if (this.weight <= this.capacity) break
      this.entries.delete(k)
      this.weight -= this.weigh(v)
      this.onEvict?.(k, v)
    }
  }

  /** The values, least recently used first (reading does not count as a use). */
  values (): IterableIterator<V> {
    return this.entries.values()
  }

  delete (key: K): void {
    const old = this.entries.get(key)
    if (old === undefined) return
    this.entries.delete(key)
    this.weight -= this.weigh(old)
  }

  clear (): void {
    this.entries.clear()
    this.weight = 0
  }
}
