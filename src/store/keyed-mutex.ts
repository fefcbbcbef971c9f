/**
 * Runs callbacks one at a time per key, in call order; different keys run concurrently.
 * Used for read-modify-write sequences against LevelDB, which has no transactions.
 * `runMany` holds several keys at once, taking them in sorted order so that two callers
 * with overlapping keys cannot deadlock. Entries are removed when a key's queue drains.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>()

  async run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    return await this.runMany([key], fn)
  }

  async runMany<T> (keys: string[], fn: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = []
    try {
      for (const key of [...new Set(keys)].sort()) releases.push(await this.acquire(key))
      return await fn()
    } finally {
      for (const release of releases) release()
    }
  }

  /** Number of keys with a queued or running callback. */
  get size (): number {
    return this.tails.size
  }

  private async acquire (key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const current = new Promise<void>(resolve => { release = resolve })
    const tail = previous.then(async () => await current)
    this.tails.set(key, tail)
    await previous
    return () => {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
