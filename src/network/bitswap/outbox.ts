import type { PeerId } from '@libp2p/interface'
import { emptyMessage, type BitswapMessage, type WantlistEntry } from './message.js'

/** Wantlist entries in one message, at most (a message of them stays far below 4 MiB). */
export const MAX_ENTRIES_PER_MESSAGE = 1024

interface Pending {
  peer: PeerId
  /** By block key: a later entry for the same block (a cancel after a want) replaces the earlier. */
  entries: Map<string, WantlistEntry>
}

/**
 * Wantlist entries waiting to go out, gathered per peer: everything queued in one turn of the
 * event loop goes to each peer as one message (the resolver asks for many blocks at once).
 */
export class Outbox {
  private pending = new Map<string, Pending>()
  private scheduled = false

  constructor (private readonly send: (peer: PeerId, message: BitswapMessage, keys: string[]) => void) {}

  add (peer: PeerId, key: string, entry: WantlistEntry): void {
    const id = peer.toString()
    let p = this.pending.get(id)
    if (p === undefined) {
      p = { peer, entries: new Map() }
      this.pending.set(id, p)
    }
    p.entries.delete(key)
    p.entries.set(key, entry)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => { this.flush() })
    }
  }

  /** Drops what is waiting for a peer (it went away). */
  forget (peer: string): void {
    this.pending.delete(peer)
  }

  clear (): void {
    this.pending.clear()
  }

  private flush (): void {
    this.scheduled = false
    const pending = this.pending
    this.pending = new Map()
    for (const { peer, entries } of pending.values()) {
      const all = [...entries]
      for (let i = 0; i < all.length; i += MAX_ENTRIES_PER_MESSAGE) {
        const part = all.slice(i, i + MAX_ENTRIES_PER_MESSAGE)
        const message = emptyMessage()
        message.wantlist.entries = part.map(([, entry]) => entry)
        this.send(peer, message, part.map(([key]) => key))
      }
    }
  }
}
