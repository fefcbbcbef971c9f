import type { Socket } from 'node:net'

/**
 * A memory budget for what the node has written to its clients' sockets and they have not
 * read yet, across every connection (WebSocket and HTTP). Each write is charged; when the
 * charges since the last measure pass the budget, the sockets' queues are measured and,
 * while their total is over it, the socket furthest behind is dropped first.
 *
 * Measuring walks every socket, so it runs only when the running estimate (which only
 * grows between measures) passes the budget, not on every write.
 */
export class OutgoingBudget {
  readonly maxBytes: number
  private readonly sockets: ReadonlySet<Socket>
  private readonly onDrop: (socket: Socket, queued: number, total: number) => void
  private estimate = 0

  constructor (maxBytes: number, sockets: ReadonlySet<Socket>, onDrop: (socket: Socket, queued: number, total: number) => void) {
    this.maxBytes = maxBytes
    this.sockets = sockets
    this.onDrop = onDrop
  }

  /** Counts `bytes` just written to a socket. */
  charge (bytes: number): void {
    this.estimate += bytes
    if (this.estimate > this.maxBytes) this.enforce()
  }

  /** Measures the queued bytes and drops the sockets furthest behind until the rest fit; returns how many it dropped. */
  enforce (): number {
    let total = 0
    const queued: Array<{ socket: Socket, bytes: number }> = []
    for (const socket of this.sockets) {
      const bytes = socket.writableLength
      if (bytes === 0 || socket.destroyed) continue
      total += bytes
      queued.push({ socket, bytes })
    }
    let dropped = 0
    if (total > this.maxBytes) {
      queued.sort((a, b) => b.bytes - a.bytes)
      for (const { socket, bytes } of queued) {
        if (total <= this.maxBytes) break
        this.onDrop(socket, bytes, total)
        total -= bytes
        dropped++
        socket.destroy()
      }
    }
    this.estimate = total
    return dropped
  }
}
