import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { errorMessage } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { NetworkError, NetworkErrorCode } from '../errors.js'
import type { Blocks } from '../types.js'
import { readLengthPrefixed } from '../wire/framing.js'
import { canVerify, cidFromPrefix } from './hashing.js'
import { BlockPresenceType, decodeMessage, encodeMessage, WantType, type BitswapMessage, type WantlistEntry } from './message.js'
import { Outbox } from './outbox.js'
import { PeerSender } from './sender.js'
import { BlockServer } from './serve.js'
import { BitswapSession, Want, type PeerTrouble } from './wants.js'

/** Protocols served and dialed, newest first. */
export const BITSWAP_PROTOCOLS = ['/ipfs/bitswap/1.2.0', '/ipfs/bitswap/1.1.0']
/** Largest incoming message accepted (blocks are at most 2 MiB in bitswap). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/** Bitswap streams open at once on one connection, each way (each may buffer one message). */
const MAX_STREAMS_PER_PEER = 32

export interface BitswapOptions {
  /**
   * How long a peer asked for a block may stay silent (no wanted block, no answer about one)
   * before the block is asked of another peer too. @default 2000
   */
  peerTimeoutMs?: number
}

export interface BitswapDeps {
  libp2p: Libp2p
  logger: Logger
  blocks?: Blocks
}

export interface GetBlockOptions {
  timeoutMs: number
  signal?: AbortSignal
  /** The fetch this block belongs to: its blocks are asked of the peers that had the earlier ones. */
  session?: BitswapSession
  /** Put the block into `blocks` (when there are blocks). @default true */
  keep?: boolean
}

function wantKey (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64')
}

function wantEntry (cid: CID, wantType: number, cancel = false): WantlistEntry {
  return { cid: cid.bytes, priority: 1, cancel, wantType, sendDontHave: !cancel }
}

/**
 * Bitswap 1.2.0 (answering 1.1.0 too). Fetching: the blocks wanted in one turn of the event
 * loop go to each peer as one message; each block is asked of one peer at a time (a peer that
 * had blocks of the same file first, the least busy of them), and of the next one when that
 * peer says it does not have it, goes away or stays silent for `peerTimeoutMs`; only data
 * whose hash matches is taken. Serving: see {@link BlockServer}.
 */
export class Bitswap {
  private readonly wants = new Map<string, Want>()
  /** When each peer last sent a wanted block or an answer about one: a peer busy sending blocks is not silent. */
  private readonly lastHeard = new Map<string, number>()
  private readonly outbox: Outbox
  private readonly server: BlockServer
  /** One long-lived outgoing stream per peer. */
  private readonly senders = new Map<string, PeerSender>()
  private readonly peerTimeoutMs: number
  private sweep?: NodeJS.Timeout
  private running = false
  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { protocols } = event.detail
    if (!protocols.some((p) => BITSWAP_PROTOCOLS.includes(p))) return
    this.guard('a new peer', () => {
      for (const want of [...this.wants.values()]) if (want.pendingBlock().length === 0) this.advance(want)
    })
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const id = event.detail.toString()
    this.guard('a peer that left', () => {
      this.lastHeard.delete(id)
      this.senders.get(id)?.close()
      this.senders.delete(id)
      this.outbox.forget(id)
      this.server.forget(id)
      for (const want of [...this.wants.values()]) this.drop(want, id, 'disconnected')
    })
  }

  constructor (private readonly deps: BitswapDeps, options: BitswapOptions = {}) {
    this.peerTimeoutMs = options.peerTimeoutMs ?? 2000
    this.outbox = new Outbox((peer, message, keys) => { void this.sendWants(peer, message, keys) })
    this.server = new BlockServer({ blocks: deps.blocks, logger: deps.logger, keyOf: wantKey, send: async (peer, message) => { await this.send(peer, message) } })
  }

  async start (): Promise<void> {
    // a peer sends on one long-lived stream (ours do, as go-bitswap's): a few streams at once are plenty
    await this.deps.libp2p.handle(BITSWAP_PROTOCOLS, (stream, connection) => { void this.onStream(stream, connection) }, { maxInboundStreams: MAX_STREAMS_PER_PEER, maxOutboundStreams: MAX_STREAMS_PER_PEER })
    this.deps.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.deps.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.running = true
  }

  async stop (): Promise<void> {
    this.running = false
    this.deps.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.deps.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    clearInterval(this.sweep)
    this.sweep = undefined
    for (const want of this.wants.values()) want.reject(new NetworkError(NetworkErrorCode.ABORTED, 'network stopped'))
    this.wants.clear()
    this.outbox.clear()
    this.server.stop()
    for (const sender of this.senders.values()) sender.close()
    this.senders.clear()
    await this.deps.libp2p.unhandle(BITSWAP_PROTOCOLS).catch(() => {})
  }

  /**
   * Fetches a block from connected peers (and peers that connect while waiting). The bytes are
   * returned only if they hash to `cid`; they are also put into `blocks` unless `keep` is false.
   */
  async getBlock (cid: CID, options: GetBlockOptions): Promise<Uint8Array> {
    if (!canVerify(cid)) throw new NetworkError(NetworkErrorCode.UNSUPPORTED_HASH, `cannot verify the hash of ${cid.toString()}`, { cid: cid.toString() })
    if (cid.multihash.code === 0x00) return cid.multihash.digest
    options.signal?.throwIfAborted()
    const key = wantKey(cid)
    let want = this.wants.get(key)
    if (want === undefined) {
      want = new Want(cid, key, options.session ?? new BitswapSession())
      this.wants.set(key, want)
      this.advance(want)
    }
    want.waiters++
    let bytes: Uint8Array
    try {
      bytes = await this.waitFor(want, options)
    } finally {
      want.waiters--
      if (want.waiters === 0 && !want.settled) this.finish(want, new NetworkError(NetworkErrorCode.ABORTED, 'want released'))
    }
    if (options.keep !== false && this.deps.blocks !== undefined) {
      try {
        await this.deps.blocks.put(cid, bytes)
      } catch (err) {
        this.deps.logger.warn({ cid: cid.toString(), err: errorMessage(err) }, 'could not keep a fetched block')
      }
    }
    return bytes
  }

  private async waitFor (want: Want, options: GetBlockOptions): Promise<Uint8Array> {
    let reject!: (err: Error) => void
    const stopped = new Promise<never>((_resolve, rej) => { reject = rej })
    const timer = setTimeout(() => {
      const code = want.blockAsked.size === 0 && want.haveAsked.size === 0 ? NetworkErrorCode.NO_PEERS : NetworkErrorCode.BLOCK_TIMEOUT
      reject(new NetworkError(code, `no peer delivered ${want.cid.toString()} within ${options.timeoutMs} ms (${want.describePeers()})`, { cid: want.cid.toString(), askedPeers: want.blockAsked.size }))
    }, options.timeoutMs)
    const onAbort = (): void => { reject(new NetworkError(NetworkErrorCode.ABORTED, 'block fetch aborted', { cid: want.cid.toString() })) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await Promise.race([want.promise, stopped])
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Connected peers, each once, in a stable order. */
  private connectedPeers (): Map<string, PeerId> {
    const peers = new Map<string, PeerId>()
    for (const connection of this.deps.libp2p.getConnections()) peers.set(connection.remotePeer.toString(), connection.remotePeer)
    return peers
  }

  /** Blocks asked of a peer and not sent yet. */
  private load (peer: string): number {
    let n = 0
    for (const want of this.wants.values()) if (want.blockAsked.has(peer) && !want.out.has(peer)) n++
    return n
  }

  /** Asks the next peer for a want, or gives it up when nobody is left. */
  private advance (want: Want): void {
    if (want.settled || !this.running) return
    const peers = this.connectedPeers()
    const plan = want.plan([...peers.keys()], (p) => this.load(p))
    if (plan.state === 'exhausted') {
      this.finish(want, new NetworkError(NetworkErrorCode.BLOCK_NOT_FOUND, `no connected peer has ${want.cid.toString()} (${want.describePeers()})`, { cid: want.cid.toString(), askedPeers: want.blockAsked.size }))
      return
    }
    if (plan.state === 'wait') return
    want.blockAsked.set(plan.block, Date.now())
    this.outbox.add(peers.get(plan.block) as PeerId, want.key, wantEntry(want.cid, WantType.BLOCK))
    for (const p of plan.have) {
      want.haveAsked.add(p)
      this.outbox.add(peers.get(p) as PeerId, want.key, wantEntry(want.cid, WantType.HAVE))
    }
    this.sweep ??= setInterval(() => { this.guard('silent peers', () => { this.checkSilentPeers() }) }, Math.max(10, this.peerTimeoutMs / 2)).unref()
  }

  /** A peer is out of the running for a want (if it was in it). */
  private drop (want: Want, peer: string, why: PeerTrouble): void {
    if (want.settled || want.out.has(peer) || (!want.blockAsked.has(peer) && !want.haveAsked.has(peer))) return
    want.out.set(peer, why)
    this.advance(want)
  }

  /** Settles a want (bytes from `from`, or an error) and cancels it at the other peers asked. */
  private finish (want: Want, result: Uint8Array | Error, from?: string): void {
    if (want.settled) return
    if (result instanceof Error) want.reject(result)
    else want.resolve(result)
    if (this.wants.get(want.key) === want) this.wants.delete(want.key)
    if (this.wants.size === 0) {
      clearInterval(this.sweep)
      this.sweep = undefined
    }
    const peers = this.connectedPeers()
    for (const p of new Set([...want.blockAsked.keys(), ...want.haveAsked])) {
      const trouble = want.out.get(p)
      if (p === from || trouble === 'disconnected' || trouble === 'unreachable') continue
      const peer = peers.get(p)
      if (peer !== undefined) this.outbox.add(peer, want.key, wantEntry(want.cid, WantType.BLOCK, true))
    }
  }

  private checkSilentPeers (): void {
    const now = Date.now()
    for (const want of [...this.wants.values()]) {
      for (const [peer, askedAt] of want.blockAsked) {
        if (!want.out.has(peer) && now - Math.max(askedAt, this.lastHeard.get(peer) ?? 0) > this.peerTimeoutMs) this.drop(want, peer, 'no answer in time')
      }
    }
  }

  /** Runs what an event or a timer calls for: a mistake there is logged, it does not end the process. */
  private guard (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err) }, `bitswap: handling ${what} failed`)
    }
  }

  private async send (peer: PeerId, message: BitswapMessage): Promise<void> {
    const id = peer.toString()
    let sender = this.senders.get(id)
    if (sender === undefined) {
      sender = new PeerSender(this.deps.libp2p, peer, BITSWAP_PROTOCOLS)
      this.senders.set(id, sender)
    }
    await sender.send(encodeMessage(message))
  }

  private async sendWants (peer: PeerId, message: BitswapMessage, keys: string[]): Promise<void> {
    if (!this.running) return
    try {
      await this.send(peer, message)
    } catch (err) {
      const id = peer.toString()
      this.deps.logger.debug({ peer: id, err: errorMessage(err) }, 'could not send a bitswap want')
      for (const key of keys) {
        const want = this.wants.get(key)
        if (want !== undefined) this.drop(want, id, 'unreachable')
      }
    }
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    try {
      for await (const bytes of readLengthPrefixed(stream, MAX_MESSAGE_BYTES)) {
        await this.onMessage(peer, decodeMessage(bytes))
      }
      await stream.close().catch(() => {})
    } catch (err) {
      this.deps.logger.debug({ peer: peer.toString(), err: errorMessage(err) }, 'dropped a malformed bitswap stream')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private async onMessage (peer: PeerId, message: BitswapMessage): Promise<void> {
    const id = peer.toString()
    for (const block of message.payload) {
      let cid: CID
      try {
        cid = await cidFromPrefix(block.prefix, block.data)
      } catch (err) {
        this.deps.logger.debug({ peer: id, err: errorMessage(err) }, 'ignored a block that cannot be verified')
        continue
      }
      // The key is the multihash of the received data, so a match is a verified block.
      const want = this.wants.get(wantKey(cid))
      if (want === undefined) {
        this.deps.logger.debug({ peer: id, cid: cid.toString() }, 'ignored an unwanted or non-matching block')
        continue
      }
      this.lastHeard.set(id, Date.now())
      want.session.delivered(id)
      this.finish(want, block.data, id)
    }
    for (const presence of message.blockPresences) {
      let cid: CID
      try { cid = CID.decode(presence.cid) } catch { continue }
      const want = this.wants.get(wantKey(cid))
      if (want === undefined) continue
      this.lastHeard.set(id, Date.now())
      if (presence.type === BlockPresenceType.DONT_HAVE) {
        this.drop(want, id, 'does not have it')
      } else if (presence.type === BlockPresenceType.HAVE && !want.out.has(id)) {
        want.haves.add(id)
        want.session.heard(id)
        if (want.pendingBlock().length === 0) this.advance(want)
      }
    }
    if (message.wantlist.entries.length > 0 || message.wantlist.full) this.server.onWantlist(peer, message.wantlist)
  }
}

export { BitswapSession }
