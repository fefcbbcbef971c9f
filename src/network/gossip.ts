import { TopicValidatorResult, type GossipSub, type GossipsubMessage, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { cidText, decode, encode } from '../ipld/index.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import type { NetworkEvents } from './events.js'
import type { IntakeVerdict } from './intake.js'
import type { DecodedReceipt, NetworkMetricGroups, ReceiptExchange, Voucher } from './types.js'

/** Gossipsub topic of receipts (an IdentTopic in Homestar: the hash is the raw string). */
export const RECEIPTS_TOPIC = 'receipts'
/**
 * Gossipsub topic of receipt batches between ipvm nodes: one message carries the receipts a
 * node makes in a burst (none more than `BATCH_GAP_MS` after the one before, the first at most
 * `BATCH_MAX_WAIT_MS` before the batch goes), as a DAG-CBOR list of `receipts` topic
 * messages. A message costs every node on its way the same (decrypting, checking the
 * publisher's signature, forwarding) whatever it carries, so a busy node's receipts cost peers
 * a message per batch, not per receipt. Homestar's `receipts` topic takes one receipt a
 * message: receipts go there too while a peer subscribed to it does not take batches.
 */
export const RECEIPT_BATCH_TOPIC = '/ipvm/receipts/batch/1'
/** A batch goes out when no receipt joined it for this long (the tasks of a chain come a few ms apart)… */
const BATCH_GAP_MS = 30
/** …or when its first receipt has waited this long. */
const BATCH_MAX_WAIT_MS = 250
/** Receipts in one batch, and its bytes, at most (a batch goes out when either is reached). */
export const MAX_BATCH_RECEIPTS = 64
export const MAX_BATCH_BYTES = 1024 * 1024
/** Longest wait for outbound gossip streams to subscribers before publishing anyway. */
const STREAM_WAIT_MS = 1000
/** How often subscribers are checked for an outbound stream, and how long one may lack it. */
const STREAM_CHECK_MS = 5000
const MUTE_LIMIT_MS = 15_000

export interface ReceiptGossipDeps {
  pubsub: GossipSub
  exchange: ReceiptExchange
  events: NetworkEvents
  logger: Logger
  metrics?: NetworkMetricGroups
  /** Counts and logs a receipt that failed validation. */
  onInvalid: (err: unknown, context: Record<string, unknown>) => void
  /** Weighs valid receipts the same peers vouch for under the trust policy (stores those vouched for enough); verdicts in order. */
  intake: (receipts: DecodedReceipt[], vouchers: Voucher[]) => Promise<IntakeVerdict[]>
  /** Messages being weighed at once; beyond it new ones are dropped (ignored, not forwarded). */
  maxPending: number
  /** A subscriber this node has been unable to send to for a while (its connection is reset). */
  onMute?: (peer: string) => void
}

/** What gossipsub does with a message after the intake weighed its receipt. */
const VERDICT: Record<IntakeVerdict, TopicValidatorResult> = {
  stored: TopicValidatorResult.Accept,
  known: TopicValidatorResult.Accept,
  // kept apart, not forwarded: a receipt nobody trusted vouches for does not spread through this node
  candidate: TopicValidatorResult.Ignore,
  ignored: TopicValidatorResult.Ignore,
  // gossipsub lowers the sender's score and does not forward
  conflict: TopicValidatorResult.Reject,
  invalid: TopicValidatorResult.Reject
}

/**
 * Receipts on the `receipts` topic. Every incoming message is decoded by the exchange and
 * weighed by the intake in the topic validator, attributed to the peer that signed the
 * message (`from`: with StrictSign it stays the original publisher across relays). Invalid
 * or conflicting ones are rejected (gossipsub penalises the sender and does not forward
 * them), receipts kept apart as candidates are ignored (not forwarded), and admitted ones are
 * accepted and forwarded.
 */
export class ReceiptGossip {
  private readonly decoded = new WeakMap<Message, DecodedReceipt[]>()
  /** Receipts waiting to go out in the next batch, and their bytes. */
  private queued: Array<{ bytes: Uint8Array, sent: (ok: boolean) => void }> = []
  private queuedBytes = 0
  private lingering?: NodeJS.Timeout
  /** When the first receipt of the batch being gathered was queued. */
  private batchStarted = 0
  private pending = 0
  /** When the last receipt came in, and went out (ms since the epoch). */
  private lastReceived?: number
  private lastPublished?: number
  /** Subscribers seen without an outbound stream, since when. */
  private readonly mute = new Map<string, number>()
  private timer?: NodeJS.Timeout
  private readonly onMessage = (event: CustomEvent<GossipsubMessage>): void => { this.deliver(event.detail) }

  constructor (private readonly deps: ReceiptGossipDeps) {}

  start (): void {
    const { pubsub } = this.deps
    pubsub.topicValidators.set(RECEIPTS_TOPIC, async (peer, message) => await this.validate(peer, message, false))
    pubsub.topicValidators.set(RECEIPT_BATCH_TOPIC, async (peer, message) => await this.validate(peer, message, true))
    pubsub.addEventListener('gossipsub:message', this.onMessage)
    pubsub.subscribe(RECEIPTS_TOPIC)
    pubsub.subscribe(RECEIPT_BATCH_TOPIC)
    this.timer = setInterval(() => { this.checkStreams() }, STREAM_CHECK_MS)
    this.timer.unref()
  }

  /** What reaches peers: the mesh, the subscribers, and when receipts last came and went. */
  status (): { mesh_peers: string[], subscribers: number, last_received: number | null, last_published: number | null } {
    return { mesh_peers: this.meshPeers(), subscribers: this.subscribers().length, last_received: this.lastReceived ?? null, last_published: this.lastPublished ?? null }
  }

  /**
   * A peer that subscribes but to which gossipsub has had no outbound stream for a while gets
   * nothing this node publishes, silently: its connection is closed so that it is made anew
   * (configured peers are redialed).
   */
  private checkStreams (): void {
    const now = Date.now()
    const subscribers = new Set(this.subscribers())
    for (const peer of this.mute.keys()) if (!subscribers.has(peer)) this.mute.delete(peer)
    for (const peer of subscribers) {
      if (this.canSendTo(peer)) {
        this.mute.delete(peer)
        continue
      }
      const since = this.mute.get(peer)
      if (since === undefined) {
        this.mute.set(peer, now)
      } else if (now - since > MUTE_LIMIT_MS) {
        this.mute.delete(peer)
        this.deps.logger.warn({ peer }, 'a subscribed peer has had no gossip stream for a while; resetting its connection')
        this.deps.onMute?.(peer)
      }
    }
  }

  stop (): void {
    clearInterval(this.timer)
    this.flush(false)
    const { pubsub } = this.deps
    pubsub.removeEventListener('gossipsub:message', this.onMessage)
    pubsub.topicValidators.delete(RECEIPTS_TOPIC)
    pubsub.topicValidators.delete(RECEIPT_BATCH_TOPIC)
  }

  /** Peers subscribed to receipts (either topic). */
  subscribers (): string[] {
    return [...new Set([...this.subscriberIds(RECEIPTS_TOPIC), ...this.subscriberIds(RECEIPT_BATCH_TOPIC)])]
  }

  /** Peer ids subscribed to a topic (gossipsub's own map when it has one: getSubscribers parses every id again). */
  private subscriberIds (topic: string): string[] {
    const topics = (this.deps.pubsub as unknown as { topics?: Map<string, Set<string>> }).topics
    const ids = topics instanceof Map ? topics.get(topic) : undefined
    return ids !== undefined ? [...ids] : this.deps.pubsub.getSubscribers(topic).map((peer) => peer.toString())
  }

  /** Peers in this node's mesh for the topic: those it forwards every message to at once. */
  meshPeers (): string[] {
    // the GossipSub class has getMeshPeers; the interface the package exports does not list it
    const pubsub = this.deps.pubsub as GossipSub & { getMeshPeers?: (topic: string) => string[] }
    return pubsub.getMeshPeers?.(RECEIPTS_TOPIC) ?? []
  }

  /**
   * Publishes a receipt (`bytes`: its `receipts` topic message): in the next batch to the
   * peers that take batches, and alone on `receipts` when a subscriber there does not. Without
   * subscribers it does nothing (as Homestar, which needs a mesh peer); a failure is logged,
   * never thrown. Emits `published_receipt_pubsub` when at least one peer was sent it.
   */
  async publish (receipt: { cid: CID, ran: CID }, bytes: Uint8Array): Promise<boolean> {
    const { events, logger, metrics } = this.deps
    const cid = cidText(receipt.cid)
    const batching = new Set(this.subscriberIds(RECEIPT_BATCH_TOPIC))
    const single = this.subscriberIds(RECEIPTS_TOPIC).some(peer => !batching.has(peer))
    if (batching.size === 0 && !single) {
      logger.debug({ cid }, 'no peer subscribed to receipts; gossip skipped')
      return false
    }
    const [alone, batched] = await Promise.all([
      single ? this.send(RECEIPTS_TOPIC, bytes, cid) : false,
      batching.size > 0 ? this.enqueue(bytes) : false
    ])
    if (!alone && !batched) {
      logger.debug({ cid }, 'receipt gossip reached no peer')
      return false
    }
    if (alone) metrics?.network.gossipMessages.inc({ direction: 'out' })
    this.lastPublished = Date.now()
    events.emit('published_receipt_pubsub', { cid, ran: receipt.ran.toString() })
    return true
  }

  /** Queues a receipt for the next batch; whether the batch reached a peer. */
  private async enqueue (bytes: Uint8Array): Promise<boolean> {
    return await new Promise<boolean>(resolve => {
      this.queued.push({ bytes, sent: resolve })
      this.queuedBytes += bytes.byteLength
      if (this.queued.length >= MAX_BATCH_RECEIPTS || this.queuedBytes >= MAX_BATCH_BYTES) {
        this.flush(true)
        return
      }
      const now = performance.now()
      if (this.queued.length === 1) this.batchStarted = now
      clearTimeout(this.lingering)
      this.lingering = setTimeout(() => { this.flush(true) }, Math.max(0, Math.min(BATCH_GAP_MS, this.batchStarted + BATCH_MAX_WAIT_MS - now)))
    })
  }

  /** Sends the queued receipts as one batch (or, when stopping, tells their publishers they did not go). */
  private flush (send: boolean): void {
    clearTimeout(this.lingering)
    this.lingering = undefined
    const batch = this.queued
    this.queued = []
    this.queuedBytes = 0
    if (batch.length === 0) return
    if (!send) {
      for (const q of batch) q.sent(false)
      return
    }
    void this.send(RECEIPT_BATCH_TOPIC, encode(batch.map(q => q.bytes)), `${batch.length} receipts`).then(ok => {
      if (ok) this.deps.metrics?.network.gossipMessages.inc({ direction: 'out' })
      for (const q of batch) q.sent(ok)
    })
  }

  /** One gossip message on a topic; whether it reached a peer. */
  private async send (topic: string, data: Uint8Array, what: string): Promise<boolean> {
    await this.waitForStreams(topic)
    try {
      return (await this.deps.pubsub.publish(topic, data)).recipients.length > 0
    } catch (err) {
      this.deps.logger.debug({ topic, what, err: errorMessage(err) }, 'receipt gossip not published')
      return false
    }
  }

  /**
   * A peer's subscription can arrive before our own outbound gossip stream to it is open, and
   * gossipsub silently skips peers without one. Wait (briefly) until every subscriber has one.
   */
  private async waitForStreams (topic: string): Promise<void> {
    const deadline = Date.now() + STREAM_WAIT_MS
    while (Date.now() < deadline) {
      if (this.subscriberIds(topic).every((peer) => this.canSendTo(peer))) return
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** Whether gossipsub has an outbound stream to the peer (its internal map; true if that changes shape). */
  private canSendTo (peerId: string): boolean {
    const streams = (this.deps.pubsub as unknown as { streamsOutbound?: Map<string, unknown> }).streamsOutbound
    return streams instanceof Map ? streams.has(peerId) : true
  }

  /**
   * A message's receipts (one, or a batch), decoded and weighed. Anything that does not
   * decode rejects the whole message (its publisher signed it); so does a conflicting
   * receipt. It is accepted (and forwarded) when every receipt was admitted, ignored otherwise.
   */
  private async validate (peer: PeerId, message: Message, batch: boolean): Promise<TopicValidatorResult> {
    const { intake, onInvalid, metrics, logger, maxPending } = this.deps
    let receipts: DecodedReceipt[]
    try {
      receipts = batch ? this.decodeBatch(message.data) : [this.deps.exchange.decodeGossip(message.data)]
    } catch (err) {
      onInvalid(err, { via: 'pubsub', peer: peer.toString(), bytes: message.data.length })
      return TopicValidatorResult.Reject
    }
    // the topics are StrictSign: an unsigned message does not get here, but make sure
    if (message.type !== 'signed') return TopicValidatorResult.Reject
    if (this.pending >= maxPending) {
      metrics?.network.peerInputDropped.inc({ kind: 'gossip_backlog' })
      return TopicValidatorResult.Ignore
    }
    this.pending += receipts.length
    try {
      const vouchers: Voucher[] = [{ peer: message.from.toString(), via: 'pubsub', signed: false }]
      const verdicts = await intake(receipts, vouchers)
      const admitted = receipts.filter((_, n) => verdicts[n] === 'stored' || verdicts[n] === 'known')
      if (admitted.length > 0) this.decoded.set(message, admitted)
      const results = verdicts.map(v => VERDICT[v])
      if (results.includes(TopicValidatorResult.Reject)) return TopicValidatorResult.Reject
      return results.every(r => r === TopicValidatorResult.Accept) ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
    } catch (err) {
      logger.warn({ peer: peer.toString(), receipts: receipts.map(r => r.cid.toString()), err: errorMessage(err) }, 'could not weigh a gossiped receipt')
      return TopicValidatorResult.Ignore
    } finally {
      this.pending -= receipts.length
    }
  }

  /** A batch message: a DAG-CBOR list of 1 to `MAX_BATCH_RECEIPTS` `receipts` topic messages, each decoded. */
  private decodeBatch (data: Uint8Array): DecodedReceipt[] {
    if (data.byteLength > MAX_BATCH_BYTES + MAX_BATCH_RECEIPTS * 16) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `a receipt batch of ${data.byteLength} bytes, more than ${MAX_BATCH_BYTES}`)
    const items = decode(data)
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH_RECEIPTS || !items.every(i => i instanceof Uint8Array)) {
      throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `a receipt batch must be a list of 1 to ${MAX_BATCH_RECEIPTS} byte strings`)
    }
    return (items as Uint8Array[]).map(bytes => this.deps.exchange.decodeGossip(bytes))
  }

  private deliver ({ propagationSource, msg }: GossipsubMessage): void {
    if (msg.topic !== RECEIPTS_TOPIC && msg.topic !== RECEIPT_BATCH_TOPIC) return
    const receipts = this.decoded.get(msg)
    // Only validated messages reach here; the validator records what it admitted.
    if (receipts === undefined) return
    this.decoded.delete(msg)
    const { events, metrics } = this.deps
    metrics?.network.gossipMessages.inc({ direction: 'in' })
    this.lastReceived = Date.now()
    for (const receipt of receipts) {
      events.emit('received_receipt_pubsub', { cid: cidText(receipt.cid), publisher: propagationSource.toString(), ran: cidText(receipt.ran) })
    }
  }
}
