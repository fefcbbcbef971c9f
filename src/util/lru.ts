/** A map that keeps at most `capacity` entries, dropping the least recently used first. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor (readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`)
  }

  get size (): number { return this.entries.size }

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
    if (this.capacity === 0) return
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
  }

  clear (): void { this.entries.clear() }
}
