import { abortReason } from './errors.js'

/** At most `limit` holders at once; the others wait in arrival order. */
export class Semaphore {
  private available: number
  private readonly waiters: Array<() => void> = []

  constructor (limit: number) {
    this.available = limit
  }

  get waiting (): number {
    return this.waiters.length
  }

  /** Holders that could still enter without waiting. */
  get free (): number {
    return this.available
  }

  async acquire (signal?: AbortSignal): Promise<() => void> {
    if (this.available > 0) {
      this.available--
      return this.releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        const i = this.waiters.indexOf(grant)
        if (i >= 0) this.waiters.splice(i, 1)
        reject(signal !== undefined ? abortReason(signal) : new Error('aborted'))
      }
      if (signal?.aborted === true) {
        reject(abortReason(signal))
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(grant)
    })
    return this.releaser()
  }

  private releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next !== undefined) next()
      else this.available++
    }
  }
}
