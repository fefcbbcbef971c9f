import type { Semaphore } from '../util/semaphore.js'

/**
 * A run's place among the `workflow.max_runs` runs that may execute at once. A run gives
 * it back while it is paused or only sleeping, so runs that wait for hours do not keep
 * others waiting, and takes one again (waiting in line) before it runs Wasm again.
 */
export class RunSlot {
  private release?: () => void
  private pending?: Promise<void>
  private finished = false

  constructor (private readonly slots: Semaphore, release: () => void, private readonly signal: AbortSignal) {
    this.release = release
  }

  /** Gives the slot back (no-op when not held). */
  yield (): void {
    const release = this.release
    this.release = undefined
    release?.()
  }

  /** Resolves once the run holds a slot; rejects when the run is aborted while in line. */
  async take (): Promise<void> {
    if (this.release !== undefined || this.finished) return
    this.pending ??= this.slots.acquire(this.signal).then(release => {
      if (this.finished) release()
      else this.release = release
    }).finally(() => { this.pending = undefined })
    await this.pending
  }

  /** The run has ended: gives the slot back for good. */
  finish (): void {
    this.finished = true
    this.yield()
  }
}
