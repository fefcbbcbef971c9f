import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { errorMessage } from '../../util/errors.js'
import type { Logger } from '../../util/logger.js'
import { NetworkError, NetworkErrorCode } from '../errors.js'
import type { Blocks } from '../types.js'
import { readLengthPrefixed, writeAndClose } from '../wire/framing.js'
import { canVerify, cidFromPrefix, cidPrefix } from './hashing.js'
import { BlockPresenceType, decodeMessage, emptyMessage, encodeMessage, WantType, type BitswapMessage } from './message.js'

/** Protocols served and dialed, newest first. */
export const BITSWAP_PROTOCOLS = ['/ipfs/bitswap/1.2.0', '/ipfs/bitswap/1.1.0']
/** Largest incoming message accepted (blocks are at most 2 MiB in bitswap). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/** Outgoing replies are split so that each stays around this size. */
const REPLY_BATCH_BYTES = 1024 * 1024
const STREAM_TIMEOUT_MS = 10_000

export interface BitswapDeps {
  libp2p: Libp2p
  logger: Logger
  blocks?: Blocks
}

interface Want {
  cid: CID
  promise: Promise<Uint8Array>
  resolve: (bytes: Uint8Array) => void
  reject: (err: Error) => void
  asked: Set<string>
  dontHave: Set<string>
  /** Callers still waiting; the want is given up when the last one leaves. */
  waiters: number
}

function deferred<T> (): { promise: Promise<T>, resolve: (value: T) => void, reject: (err: Error) => void } {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

function wantKey (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64')
}

/**
 * A minimal bitswap (1.2.0, answering 1.1.0 too): serves blocks from `blocks` to any peer that
 * wants them, and fetches blocks from connected peers, keeping only data whose hash matches.
 * It keeps no ledger: wants are answered at once with the block or, when asked, DONT_HAVE.
 */
export class Bitswap {
  private readonly wants = new Map<string, Want>()
  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = event.detail
    if (this.wants.size === 0 || !protocols.some((p) => BITSWAP_PROTOCOLS.includes(p))) return
    void this.sendWants(peerId, [...this.wants.values()])
  }

  constructor (private readonly deps: BitswapDeps) {}

  async start (): Promise<void> {
    await this.deps.libp2p.handle(BITSWAP_PROTOCOLS, (stream, connection) => { void this.onStream(stream, connection) }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
    this.deps.libp2p.addEventListener('peer:identify', this.onIdentify)
  }

  async stop (): Promise<void> {
    this.deps.libp2p.removeEventListener('peer:identify', this.onIdentify)
    for (const want of this.wants.values()) want.reject(new NetworkError(NetworkErrorCode.ABORTED, 'network stopped'))
    this.wants.clear()
    await this.deps.libp2p.unhandle(BITSWAP_PROTOCOLS).catch(() => {})
  }

  /**
   * Fetches a block from connected peers (and peers that connect while waiting). The bytes are
   * returned only if they hash to `cid`; they are also put into `blocks` when there is one.
   */
  async getBlock (cid: CID, options: { timeoutMs: number, signal?: AbortSignal }): Promise<Uint8Array> {
    if (!canVerify(cid)) throw new NetworkError(NetworkErrorCode.UNSUPPORTED_HASH, `cannot verify the hash of ${cid.toString()}`, { cid: cid.toString() })
    if (cid.multihash.code === 0x00) return cid.multihash.digest
    options.signal?.throwIfAborted()
    const key = wantKey(cid)
    let want = this.wants.get(key)
    if (want === undefined) {
      want = this.createWant(cid)
      const created = want
      this.wants.set(key, created)
      created.promise.catch(() => {}).finally(() => {
        if (this.wants.get(key) === created) this.wants.delete(key)
        void this.sendCancels(created)
      })
      const peers = new Map<string, PeerId>()
      for (const connection of this.deps.libp2p.getConnections()) peers.set(connection.remotePeer.toString(), connection.remotePeer)
      for (const peer of peers.values()) void this.sendWants(peer, [created])
    }
    want.waiters++
    let bytes: Uint8Array
    try {
      bytes = await this.waitFor(want, options)
    } finally {
      want.waiters--
      if (want.waiters === 0) this.release(want)
    }
    if (this.deps.blocks !== undefined) {
      try {
        await this.deps.blocks.put(cid, bytes)
      } catch (err) {
        this.deps.logger.warn({ cid: cid.toString(), err: errorMessage(err) }, 'could not keep a fetched block')
      }
    }
    return bytes
  }

  private createWant (cid: CID): Want {
    const { promise, resolve, reject } = deferred<Uint8Array>()
    promise.catch(() => {})
    return { cid, promise, resolve, reject, asked: new Set(), dontHave: new Set(), waiters: 0 }
  }

  private async waitFor (want: Want, options: { timeoutMs: number, signal?: AbortSignal }): Promise<Uint8Array> {
    const { promise: stopped, reject } = deferred<never>()
    const timer = setTimeout(() => {
      const code = want.asked.size === 0 ? NetworkErrorCode.NO_PEERS : NetworkErrorCode.BLOCK_TIMEOUT
      reject(new NetworkError(code, `no peer delivered ${want.cid.toString()} within ${options.timeoutMs} ms`, { cid: want.cid.toString(), askedPeers: want.asked.size }))
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

  /** Gives a pending want up (it is then cancelled at the peers asked). */
  private release (want: Want): void {
    const key = wantKey(want.cid)
    if (this.wants.get(key) !== want) return
    this.wants.delete(key)
    want.reject(new NetworkError(NetworkErrorCode.ABORTED, 'want released'))
  }

  private async send (peer: PeerId, message: BitswapMessage): Promise<void> {
    const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
    const stream = await this.deps.libp2p.dialProtocol(peer, BITSWAP_PROTOCOLS, { signal })
    try {
      await writeAndClose(stream, encodeMessage(message), signal)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  private async sendWants (peer: PeerId, wants: Want[]): Promise<void> {
    const id = peer.toString()
    const fresh = wants.filter((w) => !w.asked.has(id))
    if (fresh.length === 0) return
    const message = emptyMessage()
    for (const want of fresh) {
      message.wantlist.entries.push({ cid: want.cid.bytes, priority: 1, cancel: false, wantType: WantType.BLOCK, sendDontHave: true })
      want.asked.add(id)
    }
    try {
      await this.send(peer, message)
    } catch (err) {
      for (const want of fresh) want.asked.delete(id)
      this.deps.logger.debug({ peer: id, err: errorMessage(err) }, 'could not send a bitswap want')
    }
  }

  private async sendCancels (want: Want): Promise<void> {
    for (const id of want.asked) {
      if (want.dontHave.has(id)) continue
      const connection = this.deps.libp2p.getConnections().find((c) => c.remotePeer.toString() === id)
      if (connection === undefined) continue
      const message = emptyMessage()
      message.wantlist.entries.push({ cid: want.cid.bytes, priority: 1, cancel: true, wantType: WantType.BLOCK, sendDontHave: false })
      await this.send(connection.remotePeer, message).catch(() => {})
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
      want.resolve(block.data)
    }
    for (const presence of message.blockPresences) {
      if (presence.type !== BlockPresenceType.DONT_HAVE) continue
      let cid: CID
      try { cid = CID.decode(presence.cid) } catch { continue }
      const want = this.wants.get(wantKey(cid))
      if (want === undefined || !want.asked.has(id)) continue
      want.dontHave.add(id)
      if (want.dontHave.size >= want.asked.size) {
        want.reject(new NetworkError(NetworkErrorCode.BLOCK_NOT_FOUND, `no connected peer has ${cid.toString()}`, { cid: cid.toString(), askedPeers: want.asked.size }))
      }
    }
    if (message.wantlist.entries.length > 0) await this.serve(peer, message)
  }

  private async serve (peer: PeerId, request: BitswapMessage): Promise<void> {
    const replies: BitswapMessage[] = []
    let reply = emptyMessage()
    let size = 0
    for (const entry of request.wantlist.entries) {
      if (entry.cancel) continue
      let cid: CID
      try { cid = CID.decode(entry.cid) } catch { continue }
      const data = this.deps.blocks !== undefined ? await this.deps.blocks.get(cid).catch(() => undefined) : undefined
      if (data === undefined) {
        if (entry.sendDontHave) reply.blockPresences.push({ cid: entry.cid, type: BlockPresenceType.DONT_HAVE })
      } else if (entry.wantType === WantType.HAVE) {
        reply.blockPresences.push({ cid: entry.cid, type: BlockPresenceType.HAVE })
      } else {
        if (size > 0 && size + data.length > REPLY_BATCH_BYTES) {
          replies.push(reply)
          reply = emptyMessage()
          size = 0
        }
        reply.payload.push({ prefix: cidPrefix(cid), data })
        size += data.length
      }
    }
    if (reply.payload.length > 0 || reply.blockPresences.length > 0) replies.push(reply)
    for (const message of replies) {
      await this.send(peer, message).catch((err: unknown) => {
        this.deps.logger.debug({ peer: peer.toString(), err: errorMessage(err) }, 'could not send a bitswap reply')
      })
    }
  }
}
