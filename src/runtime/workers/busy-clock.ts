/**
 * The time a worker spends on calls, kept in memory it shares with the main thread: the pool
 * reads it as the worker's own clock has it, even while the main thread has been too busy to
 * read the worker's messages (a call that ended then still looks running from there).
 */
export class BusyClock {
  /** [0]: when the running call began (ms since the epoch), 0 when none runs; [1]: ms spent on calls that ended. */
  private readonly times: Float64Array

  constructor (readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT)) {
    this.times = new Float64Array(buffer)
  }

  /** In the worker: a call begins. */
  begin (): void {
    this.times[0] = epochMs()
  }

  /** In the worker: the call ended. */
  end (): void {
    const began = this.times[0]
    if (began === 0) return
    // cleared first: a reader in between counts too little, never the call twice
    this.times[0] = 0
    this.times[1] += epochMs() - began
  }

  /** Milliseconds spent on calls until `at` (ms since the epoch), the running one included. */
  busyMs (at = epochMs()): number {
    const began = this.times[0]
    return this.times[1] + (began > 0 ? Math.max(0, at - began) : 0)
  }
}

/** Now, in ms since the epoch: the same clock in every thread. */
export function epochMs (): number {
  return performance.timeOrigin + performance.now()
}
