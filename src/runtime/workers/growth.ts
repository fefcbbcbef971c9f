import { epochMs, type BusyClock } from './busy-clock.js'

/** Share of the time the running workers must have spent on calls for another to start. */
const BUSY_SHARE = 0.5

/**
 * When the pool starts another worker while some run: once calls have kept waiting `afterMs`
 * and the running workers spent at least half that time on calls, by their own clocks. Calls
 * left waiting by a main thread too busy to hand them out (a worker whose call ended then
 * still looks busy from there) start none: another worker would not help. Between looks, a
 * timer calls `recheck` when the next window ends.
 */
export class GrowthWatch {
  /** Since when calls have kept waiting (ms since the epoch). */
  private since?: number
  /** Each running worker's busy time when the window began. */
  private readonly busyAt = new Map<BusyClock, number>()
  private timer?: NodeJS.Timeout

  constructor (private readonly afterMs: number, private readonly recheck: () => void) {}

  /** Calls wait and `clocks` (the running workers') could take another: whether one should start now. */
  due (clocks: BusyClock[]): boolean {
    const t = epochMs()
    if (this.since === undefined) this.begin(clocks, t)
    const elapsed = t - this.since!
    if (elapsed >= this.afterMs) {
      let busy = 0
      for (const clock of clocks) busy += clock.busyMs(t) - (this.busyAt.get(clock) ?? 0)
      if (busy >= BUSY_SHARE * elapsed * clocks.length) return true
      // not busy enough: look again over the next window
      this.begin(clocks, t)
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.recheck()
      }, Math.max(1, Math.ceil(this.since! + this.afterMs - t)))
      this.timer.unref()
    }
    return false
  }

  /** Nothing waits, a worker is starting or every one is up: the next wait starts a new window. */
  end (): void {
    this.since = undefined
    this.busyAt.clear()
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private begin (clocks: BusyClock[], t: number): void {
    this.since = t
    this.busyAt.clear()
    for (const clock of clocks) this.busyAt.set(clock, clock.busyMs(t))
  }
}
