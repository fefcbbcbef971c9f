import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { cidText, decode, encode, encodeReceipt, parseReceipt } from '../ipld/index.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { LruMap } from '../util/lru.js'
import { shuffled } from '../util/shuffle.js'
import { recordVouchers, signReceipt, verifyReceiptSignature } from './attestation.js'
import { receiptRecordKey } from './dht.js'
import { ExchangeSession } from './exchange-session.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, MAX_HAVE, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, RECEIPT_EXCHANGE_PROTOCOL, type ExchangedReceipt, type ExchangeRequest } from './exchange-wire.js'
import type { IntakeVerdict } from './intake.js'
import type { BoundedRecordStore } from './record-store.js'
import type { TrustPolicy } from './trust.js'
import type { DecodedReceipt, PeerReceiptStore, ReceiptExchange, Voucher } from './types.js'
import { lengthPrefixed, readLengthPrefixed } from './wire/framing.js'

/** Receipts one sync answer carries at most. */
const MAX_SYNC_RECEIPTS = 256

export interface ReceiptExchangeOptions {
  /** How often a random trusted peer is synced with (0: only on connecting). */
  syncIntervalMs: number
  /** How long a sync may take. */
  timeoutMs: number
}

export interface ReceiptExchangeComponents {
  privateKey: PrivateKey
  store: PeerReceiptStore
  codec: ReceiptExchange
  /** The DHT records peers put on this node. */
  records: Pick<BoundedRecordStore, 'localRecord'>
  trust: TrustPolicy
  /** Receipts this node stored recently, newest last. */
  recent: LruMap<string, { cid: CID, instruction: CID }>
  /** Weighs a receipt a peer answered with. */
  take: (receipt: DecodedReceipt, vouchers: Voucher[]) => Promise<IntakeVerdict>
  logger: Logger
}

/**
 * The receipt exchange with ipvm peers (`/ipvm/receipts/1.0.0`): asking a peer for the
 * receipts of given instructions (a run asks for all its tasks at once), answering such
 * requests from the store and from the DHT records peers put on this node, and anti-entropy:
 * on connecting and every `syncIntervalMs`, a trusted peer is told which receipts this node
 * stored recently and sends back what gossip lost.
 */
export class ReceiptExchangePeers {
  private attached?: { node: Libp2p, signal: AbortSignal }
  private timer?: NodeJS.Timeout
  /** Connected peers that said (identify) they speak the receipt exchange, by peer id. */
  private readonly speakers = new Map<string, PeerId>()
  /** The long-lived stream to each peer this node asked, by peer id. */
  private readonly sessions = new Map<string, ExchangeSession>()
  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = event.detail
    if (!protocols.includes(RECEIPT_EXCHANGE_PROTOCOL)) {
      this.speakers.delete(peerId.toString())
      return
    }
    this.speakers.set(peerId.toString(), peerId)
    if (this.syncsWith(peerId.toString())) void this.syncWith(peerId)
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peer = event.detail.toString()
    this.speakers.delete(peer)
    this.sessions.get(peer)?.close()
    this.sessions.delete(peer)
  }

  constructor (private readonly options: ReceiptExchangeOptions, private readonly c: ReceiptExchangeComponents) {}

  async attach (node: Libp2p, signal: AbortSignal): Promise<void> {
    this.attached = { node, signal }
    await node.handle(RECEIPT_EXCHANGE_PROTOCOL, (stream, connection) => { void this.serve(stream, connection) }, { maxInboundStreams: 16, maxOutboundStreams: 16 })
    node.addEventListener('peer:identify', this.onIdentify)
    node.addEventListener('peer:disconnect', this.onDisconnect)
    if (this.options.syncIntervalMs > 0) {
      this.timer = setInterval(() => { void this.syncRound() }, this.options.syncIntervalMs)
      this.timer.unref()
    }
  }

  async detach (): Promise<void> {
    clearInterval(this.timer)
    const attached = this.attached
    this.attached = undefined
    if (attached === undefined) return
    attached.node.removeEventListener('peer:identify', this.onIdentify)
    attached.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.speakers.clear()
    for (const session of this.sessions.values()) session.close()
    this.sessions.clear()
    await attached.node.unhandle(RECEIPT_EXCHANGE_PROTOCOL).catch(() => {})
  }

  /** Whether a connected peer speaks the exchange. */
  speaks (peer: string): boolean {
    return this.speakers.has(peer)
  }

  /** Whether receipts from this peer are worth exchanging: what it sends is only kept if it is trusted. */
  private syncsWith (peer: string): boolean {
    return this.c.trust.mode !== 'none' && this.c.trust.isTrusted(peer)
  }

  /** Connected peers that speak the exchange, trusted ones first, in a random order otherwise (so asking a few spreads the load). */
  peers (): PeerId[] {
    return shuffled(this.speakers.values()).sort((a, b) => Number(this.c.trust.isTrusted(b.toString())) - Number(this.c.trust.isTrusted(a.toString())))
  }

  /** Anti-entropy: one random trusted peer is told which receipts this node stored recently and sends back the ones it lacks. */
  private async syncRound (): Promise<void> {
    const peers = this.peers().filter(p => this.syncsWith(p.toString()))
    const peer = peers[Math.floor(Math.random() * peers.length)]
    if (peer !== undefined) await this.syncWith(peer)
  }

  private async syncWith (peer: PeerId): Promise<void> {
    const attached = this.attached
    if (attached === undefined) return
    const have = [...this.c.recent.values()].slice(-MAX_HAVE).map(r => r.cid)
    const received = await this.request(peer, { have }, AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), attached.signal]))
    let admitted = 0
    for (const r of received ?? []) if (await this.takeExchanged(r, peer.toString())) admitted++
    if (admitted > 0) this.c.logger.debug({ peer: peer.toString(), admitted }, 'receipts brought back by the exchange with a peer')
  }

  /**
   * Asks a peer; what it answers, or undefined when it does not. Requests go over the peer's
   * session (one long-lived stream); one made while the session waits for an answer gets a
   * session of its own, closed after the answer, instead of waiting behind it.
   */
  async request (peer: PeerId, request: ExchangeRequest, signal: AbortSignal): Promise<ExchangedReceipt[] | undefined> {
    const node = this.attached?.node
    if (node === undefined) return undefined
    const key = peer.toString()
    const open = (): ExchangeSession => new ExchangeSession(node, peer, RECEIPT_EXCHANGE_PROTOCOL, MAX_RESPONSE_BYTES)
    let session = this.sessions.get(key)
    if (session === undefined) {
      session = open()
      this.sessions.set(key, session)
    }
    const once = session.busy ? open() : undefined
    try {
      return decodeResponse(await (once ?? session).ask(encodeRequest(request), signal))
    } catch (err) {
      this.c.logger.debug({ peer: key, err: errorMessage(err) }, 'receipt exchange with a peer failed')
      return undefined
    } finally {
      once?.close()
    }
  }

  /**
   * A receipt a peer answered with: vouched for by that peer (an authenticated connection), and
   * by its signer when signed. A DHT record the peer only holds is vouched for as a DHT lookup's
   * would be: by its signer, or, unsigned, by the peer only when any peer is trusted.
   */
  async takeExchanged (r: ExchangedReceipt, from: string): Promise<boolean> {
    const vouchers: Voucher[] = r.record === true ? await recordVouchers(r, from, this.c.trust.mode === 'any') : [{ peer: from, via: 'exchange', signed: false }]
    if (r.record !== true && r.signature !== undefined) {
      const signer = await verifyReceiptSignature(r.signature, r.cid, r.instruction)
      if (signer !== undefined) vouchers.push({ peer: signer, via: 'exchange', signed: true })
    }
    const decoded: DecodedReceipt = {
      cid: r.cid,
      ran: r.receipt.ran,
      instruction: r.instruction,
      bytes: encodeReceipt(r.receipt),
      ok: r.receipt.out[0] === 'ok',
      out: encode([r.receipt.out[0], r.receipt.out[1]]),
      issuer: r.receipt.iss,
      record: r.receipt
    }
    try {
      const verdict = await this.c.take(decoded, vouchers)
      return verdict === 'stored' || verdict === 'known'
    } catch (err) {
      this.c.logger.debug({ cid: r.cid.toString(), err: errorMessage(err) }, 'could not weigh an exchanged receipt')
      return false
    }
  }

  /** Answers a peer's requests on one stream, each in turn, until the peer closes it. */
  private async serve (stream: Stream, connection: Connection): Promise<void> {
    try {
      for await (const message of readLengthPrefixed(stream, MAX_REQUEST_BYTES)) {
        const request = decodeRequest(message)
        const answer = 'want' in request ? await this.wanted(request.want) : await this.missing(request.have)
        if (!stream.send(lengthPrefixed(encodeResponse(answer)))) await stream.onDrain()
      }
      await stream.close().catch(() => {})
    } catch (err) {
      this.c.logger.debug({ peer: connection.remotePeer.toString(), err: errorMessage(err) }, 'receipt exchange request failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** The receipts this node holds for the instructions: in its store, else a record a peer put on it (as a DHT lookup would find). */
  private async wanted (instructions: CID[]): Promise<ExchangedReceipt[]> {
    const found = await this.c.store.getManyByInstruction(instructions)
    const held = await this.answer(found.flatMap((f, n) => f === undefined ? [] : [{ instruction: instructions[n], cid: f.cid, bytes: f.bytes, own: f.provenance === undefined || f.provenance.local }]))
    for (const [n, instruction] of instructions.entries()) {
      if (found[n] !== undefined) continue
      const record = await this.c.records.localRecord(receiptRecordKey(instruction))
      if (record === undefined) continue
      try {
        const decoded = this.c.codec.decodeDhtRecord(instruction, record)
        held.push({ instruction, cid: decoded.cid, receipt: parseReceipt(decode(decoded.bytes)), record: true, ...(decoded.signature !== undefined ? { signature: decoded.signature } : {}) })
      } catch (err) {
        this.c.logger.debug({ instruction: instruction.toString(), err: errorMessage(err) }, 'a stored DHT record does not decode')
      }
    }
    return held
  }

  private async missing (have: CID[]): Promise<ExchangedReceipt[]> {
    const held = new Set(have.map(c => cidText(c)))
    const lacking = [...this.c.recent.values()].filter(r => !held.has(cidText(r.cid))).slice(-MAX_SYNC_RECEIPTS)
    const [bytes, provenances] = await Promise.all([this.c.store.getMany(lacking.map(r => r.cid)), this.c.store.provenanceOf(lacking.map(r => r.cid))])
    return await this.answer(lacking.flatMap(({ cid, instruction }, n) => {
      const b = bytes[n]
      const p = provenances[n]
      return b === undefined ? [] : [{ instruction, cid, bytes: b, own: p === undefined || p.local }]
    }))
  }

  /** The answer's receipts, signed where this node made them, within the answer's byte budget. */
  private async answer (items: Array<{ instruction: CID, cid: CID, bytes: Uint8Array, own: boolean }>): Promise<ExchangedReceipt[]> {
    const out: ExchangedReceipt[] = []
    let size = 0
    for (const item of items) {
      size += item.bytes.byteLength + 256
      if (size > MAX_RESPONSE_BYTES) break
      const receipt = parseReceipt(decode(item.bytes))
      out.push({ instruction: item.instruction, cid: item.cid, receipt, ...(item.own ? { signature: await signReceipt(this.c.privateKey, item.cid, item.instruction) } : {}) })
    }
    return out
  }
}
