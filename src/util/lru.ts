/**
 * A map that holds at most `capacity` in weight, dropping the least recently used entries
 * first. Each entry weighs `weigh(value)`: 1 by default, so capacity counts entries.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>()
  private weight = 0

  constructor (readonly capacity: number, private readonly weigh: (value: V) => number = () => 1) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`)
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
    }
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
