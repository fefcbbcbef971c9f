import { TopicValidatorResult, type GossipSub, type GossipsubMessage, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { NetworkEvents } from './events.js'
import type { IntakeVerdict } from './intake.js'
import type { DecodedReceipt, NetworkMetricGroups, ReceiptExchange, Voucher } from './types.js'

/** Gossipsub topic of receipts (an IdentTopic in Homestar: the hash is the raw string). */
export const RECEIPTS_TOPIC = 'receipts'
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
  /** Weighs a valid receipt under the trust policy (stores it when it is vouched for enough). */
  intake: (receipt: DecodedReceipt, vouchers: Voucher[]) => Promise<IntakeVerdict>
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
  private readonly decoded = new WeakMap<Message, DecodedReceipt>()
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
    pubsub.topicValidators.set(RECEIPTS_TOPIC, (peer, message) => this.validate(peer, message))
    pubsub.addEventListener('gossipsub:message', this.onMessage)
    pubsub.subscribe(RECEIPTS_TOPIC)
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
    const { pubsub } = this.deps
    pubsub.removeEventListener('gossipsub:message', this.onMessage)
    pubsub.topicValidators.delete(RECEIPTS_TOPIC)
  }

  /** Peers subscribed to the topic. */
  subscribers (): string[] {
    return this.deps.pubsub.getSubscribers(RECEIPTS_TOPIC).map((peer) => peer.toString())
  }

  /** Peers in this node's mesh for the topic: those it forwards every message to at once. */
  meshPeers (): string[] {
    // the GossipSub class has getMeshPeers; the interface the package exports does not list it
    const pubsub = this.deps.pubsub as GossipSub & { getMeshPeers?: (topic: string) => string[] }
    return pubsub.getMeshPeers?.(RECEIPTS_TOPIC) ?? []
  }

  /**
   * Publishes a gossip message. Without subscribers it does nothing (as Homestar, which needs a
   * mesh peer); a failure is logged, never thrown. Emits `published_receipt_pubsub` when at least
   * one peer was sent the message.
   */
  async publish (receipt: { cid: CID, ran: CID }, bytes: Uint8Array): Promise<boolean> {
    const { pubsub, events, logger, metrics } = this.deps
    const cid = receipt.cid.toString()
    if (pubsub.getSubscribers(RECEIPTS_TOPIC).length === 0) {
      logger.debug({ cid }, 'no peer subscribed to receipts; gossip skipped')
      return false
    }
    await this.waitForStreams()
    let recipients: number
    try {
      recipients = (await pubsub.publish(RECEIPTS_TOPIC, bytes)).recipients.length
    } catch (err) {
      logger.debug({ cid, err: errorMessage(err) }, 'receipt gossip not published')
      return false
    }
    if (recipients === 0) {
      logger.debug({ cid }, 'receipt gossip reached no peer')
      return false
    }
    metrics?.network.gossipMessages.inc({ direction: 'out' })
    this.lastPublished = Date.now()
    events.emit('published_receipt_pubsub', { cid, ran: receipt.ran.toString() })
    return true
  }

  /**
   * A peer's subscription can arrive before our own outbound gossip stream to it is open, and
   * gossipsub silently skips peers without one. Wait (briefly) until every subscriber has one.
   */
  private async waitForStreams (): Promise<void> {
    const deadline = Date.now() + STREAM_WAIT_MS
    while (Date.now() < deadline) {
      const subscribers = this.deps.pubsub.getSubscribers(RECEIPTS_TOPIC)
      if (subscribers.every((peer) => this.canSendTo(peer.toString()))) return
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** Whether gossipsub has an outbound stream to the peer (its internal map; true if that changes shape). */
  private canSendTo (peerId: string): boolean {
    const streams = (this.deps.pubsub as unknown as { streamsOutbound?: Map<string, unknown> }).streamsOutbound
    return streams instanceof Map ? streams.has(peerId) : true
  }

  private async validate (peer: PeerId, message: Message): Promise<TopicValidatorResult> {
    const { exchange, intake, onInvalid, metrics, logger, maxPending } = this.deps
    let receipt: DecodedReceipt
    try {
      receipt = exchange.decodeGossip(message.data)
    } catch (err) {
      onInvalid(err, { via: 'pubsub', peer: peer.toString(), bytes: message.data.length })
      return TopicValidatorResult.Reject
    }
    // the topic is StrictSign: an unsigned message does not get here, but make sure
    if (message.type !== 'signed') return TopicValidatorResult.Reject
    if (this.pending >= maxPending) {
      metrics?.network.peerInputDropped.inc({ kind: 'gossip_backlog' })
      return TopicValidatorResult.Ignore
    }
    this.pending++
    try {
      const verdict = await intake(receipt, [{ peer: message.from.toString(), via: 'pubsub', signed: false }])
      if (verdict === 'stored' || verdict === 'known') this.decoded.set(message, receipt)
      return VERDICT[verdict]
    } catch (err) {
      logger.warn({ cid: receipt.cid.toString(), peer: peer.toString(), err: errorMessage(err) }, 'could not weigh a gossiped receipt')
      return TopicValidatorResult.Ignore
    } finally {
      this.pending--
    }
  }

  private deliver ({ propagationSource, msg }: GossipsubMessage): void {
    if (msg.topic !== RECEIPTS_TOPIC) return
    const receipt = this.decoded.get(msg)
    // Only validated messages reach here; the validator always records what it accepted.
    if (receipt === undefined) return
    this.decoded.delete(msg)
    const { events, metrics } = this.deps
    metrics?.network.gossipMessages.inc({ direction: 'in' })
    this.lastReceived = Date.now()
    events.emit('received_receipt_pubsub', { cid: receipt.cid.toString(), publisher: propagationSource.toString(), ran: receipt.ran.toString() })
  }
}
