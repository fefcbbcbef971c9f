import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { errorMessage } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import type { Blocks } from '../types.js'
import { cidPrefix } from './hashing.js'
import { BlockPresenceType, emptyMessage, WantType, type BitswapMessage, type WantlistEntry } from './message.js'

/** Replies are cut so that each stays around this size. */
export const REPLY_BATCH_BYTES = 2 * 1024 * 1024
/** Wants a peer may have queued here; more are ignored until the queue drains. */
export const MAX_QUEUED_WANTS_PER_PEER = 1024
/** Replies to one peer being sent at once. */
const REPLIES_IN_FLIGHT = 4
/** Largest block sent (a reply must stay within the 4 MiB peers take). */
const MAX_SENT_BLOCK_BYTES = 2 * 1024 * 1024

interface Ledger {
  peer: PeerId
  /** Wants not answered yet, oldest first, by block key. */
  wants: Map<string, { cid: CID, entry: WantlistEntry }>
  draining: boolean
}

export interface BlockServerDeps {
  blocks?: Blocks
  logger: Logger
  send: (peer: PeerId, message: BitswapMessage) => Promise<void>
  /** The same block key the fetching side uses. */
  keyOf: (cid: CID) => string
}

/**
 * Answers peers' wants: each peer's wants are queued (a cancel takes one out, a full wantlist
 * replaces them) and answered in order, in replies of about 1 MiB, a few of them in flight at
 * once, so serving a peer holds at most those few replies in memory whatever it asks for.
 */
export class BlockServer {
  private readonly ledgers = new Map<string, Ledger>()
  private stopped = false

  constructor (private readonly deps: BlockServerDeps) {}

  onWantlist (peer: PeerId, wantlist: BitswapMessage['wantlist']): void {
    if (this.stopped) return
    const id = peer.toString()
    let ledger = this.ledgers.get(id)
    if (ledger === undefined) {
      ledger = { peer, wants: new Map(), draining: false }
      this.ledgers.set(id, ledger)
    }
    if (wantlist.full) ledger.wants.clear()
    let ignored = 0
    for (const entry of wantlist.entries) {
      let cid: CID
      try { cid = CID.decode(entry.cid) } catch { continue }
      const key = this.deps.keyOf(cid)
      if (entry.cancel) ledger.wants.delete(key)
      else if (ledger.wants.has(key) || ledger.wants.size < MAX_QUEUED_WANTS_PER_PEER) ledger.wants.set(key, { cid, entry })
      else ignored++
    }
    if (ignored > 0) this.deps.logger.debug({ peer: id, ignored }, 'a peer wants more blocks at once than are queued for it')
    if (!ledger.draining && ledger.wants.size > 0) {
      void this.drain(ledger).catch((err: unknown) => { this.deps.logger.warn({ peer: id, err: errorMessage(err) }, 'serving bitswap wants failed') })
    }
  }

  /** Drops a peer's queued wants (it went away). */
  forget (peer: string): void {
    this.ledgers.get(peer)?.wants.clear()
    this.ledgers.delete(peer)
  }

  stop (): void {
    this.stopped = true
    for (const ledger of this.ledgers.values()) ledger.wants.clear()
    this.ledgers.clear()
  }

  private async drain (ledger: Ledger): Promise<void> {
    ledger.draining = true
    let reply = emptyMessage()
    let size = 0
    const sending = new Set<Promise<void>>()
    const flush = async (): Promise<void> => {
      const message = reply
      reply = emptyMessage()
      size = 0
      if (message.payload.length === 0 && message.blockPresences.length === 0) return
      // a few replies go out at once, so that reading the next blocks overlaps sending
      while (sending.size >= REPLIES_IN_FLIGHT) await Promise.race(sending)
      const sent: Promise<void> = this.deps.send(ledger.peer, message).catch((err: unknown) => {
        this.deps.logger.debug({ peer: ledger.peer.toString(), err: errorMessage(err) }, 'could not send a bitswap reply')
      }).finally(() => sending.delete(sent))
      sending.add(sent)
    }
    try {
      // until nothing is left to answer, counting wants that come while the last replies go out
      while (!this.stopped && (ledger.wants.size > 0 || sending.size > 0)) {
        if (ledger.wants.size === 0) {
          await Promise.race(sending)
          continue
        }
        const [key, { cid, entry }] = ledger.wants.entries().next().value as [string, { cid: CID, entry: WantlistEntry }]
        ledger.wants.delete(key)
        if (entry.wantType === WantType.HAVE) {
          // a key-only check: the block is not read
          const has = this.deps.blocks !== undefined && await this.deps.blocks.has(cid).catch(() => false)
          if (has || entry.sendDontHave) reply.blockPresences.push({ cid: entry.cid, type: has ? BlockPresenceType.HAVE : BlockPresenceType.DONT_HAVE })
        } else {
          const data = await this.read(cid)
          if (data === undefined) {
            if (entry.sendDontHave) reply.blockPresences.push({ cid: entry.cid, type: BlockPresenceType.DONT_HAVE })
          } else {
            if (size > 0 && size + data.byteLength > REPLY_BATCH_BYTES) await flush()
            reply.payload.push({ prefix: cidPrefix(cid), data })
            size += data.byteLength
          }
        }
        if (size >= REPLY_BATCH_BYTES || ledger.wants.size === 0) await flush()
      }
    } finally {
      ledger.draining = false
    }
  }

  private async read (cid: CID): Promise<Uint8Array | undefined> {
    if (this.deps.blocks === undefined) return undefined
    const data = await this.deps.blocks.get(cid).catch(() => undefined)
    return data !== undefined && data.byteLength <= MAX_SENT_BLOCK_BYTES ? data : undefined
  }
}
