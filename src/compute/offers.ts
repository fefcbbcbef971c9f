import { setMaxListeners } from 'node:events'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { ComputeMetrics } from '../metrics/index.js'
import type { ComputeOffer, ComputePeerListener, Network } from '../network/index.js'
import type { PeerSlot } from './placement.js'

/** Offers asked for at once. */
const MAX_ASKING = 16
/** How long one offer request may take. */
const OFFER_TIMEOUT_MS = 5000

export type OfferNetwork = Pick<Network, 'computePeers' | 'computeOffer' | 'mayDispatchTo'>

export interface OfferBookComponents {
  network: OfferNetwork
  logger: Logger
  metrics?: ComputeMetrics
}

interface Entry {
  offer: ComputeOffer
  /** When it came (ms since the epoch). */
  at: number
  /** Others' load on the peer when it made the offer: its busy and queued slots, less this node's tasks. */
  othersLoad: number
}

/** What the book holds of a peer, for `node` and the dashboard. */
export interface PeerOfferInfo {
  peer: string
  offer: ComputeOffer
  ageMs: number
  inFlight: number
}

/**
 * The offers of the peers tasks may go to (connected, speaking the compute protocols, trusted):
 * asked for when a peer connects and every `intervalMs` after (one request per peer at a time,
 * at most 16 at once), dropped when it disconnects or fails a task, unused once older than
 * `ttlMs`. It also counts the tasks this node has on each peer.
 */
export class OfferBook implements ComputePeerListener {
  private readonly entries = new Map<string, Entry>()
  private readonly asking = new Set<string>()
  private readonly inFlight = new Map<string, number>()
  private timer?: NodeJS.Timeout
  private stopped = new AbortController()

  constructor (private readonly opts: { intervalMs: number, ttlMs: number }, private readonly c: OfferBookComponents) {
    c.metrics?.offers.setCollector(() => this.fresh().length)
  }

  start (): void {
    this.stopped = new AbortController()
    // every offer request in progress listens on it
    setMaxListeners(0, this.stopped.signal)
    this.timer = setInterval(() => { void this.refreshAll() }, this.opts.intervalMs)
    this.timer.unref()
    void this.refreshAll()
  }

  stop (): void {
    clearInterval(this.timer)
    this.stopped.abort()
    this.entries.clear()
  }

  up (peer: string): void {
    void this.refresh(peer)
  }

  down (peer: string): void {
    this.entries.delete(peer)
  }

  /** Forgets a peer's offer until it is asked again (it failed a task: it may be gone). */
  forget (peer: string): void {
    this.entries.delete(peer)
  }

  /** A task goes to the peer / came back. */
  take (peer: string): void {
    this.inFlight.set(peer, (this.inFlight.get(peer) ?? 0) + 1)
  }

  release (peer: string): void {
    const n = (this.inFlight.get(peer) ?? 1) - 1
    if (n <= 0) this.inFlight.delete(peer)
    else this.inFlight.set(peer, n)
  }

  /**
   * Peers as placement weighs them: `room` when the offer is fresh, the trust policy still lets
   * tasks go there, this node has fewer than `maxPerPeer` (and the peer's own bound) there,
   * and `fits` says the task fits the offer.
   */
  slots (maxPerPeer: number, fits: (offer: ComputeOffer) => boolean): PeerSlot[] {
    return this.fresh().map(([peer, e]) => {
      const inFlight = this.inFlight.get(peer) ?? 0
      const room = inFlight < Math.min(maxPerPeer, e.offer.maxInFlightPerPeer) && this.c.network.mayDispatchTo(peer) && fits(e.offer)
      return { peer, inFlight, capacity: e.offer.workers, othersLoad: e.othersLoad, room }
    })
  }

  info (): PeerOfferInfo[] {
    const now = Date.now()
    return this.fresh().map(([peer, e]) => ({ peer, offer: e.offer, ageMs: now - e.at, inFlight: this.inFlight.get(peer) ?? 0 }))
  }

  private fresh (): Array<[string, Entry]> {
    const oldest = Date.now() - this.opts.ttlMs
    return [...this.entries].filter(([, e]) => e.at >= oldest)
  }

  private async refreshAll (): Promise<void> {
    const peers = await this.c.network.computePeers().catch(() => [] as string[])
    const connected = new Set(peers)
    for (const peer of this.entries.keys()) if (!connected.has(peer)) this.entries.delete(peer)
    await Promise.all(peers.map(async peer => { await this.refresh(peer) }))
  }

  private async refresh (peer: string): Promise<void> {
    if (this.asking.has(peer) || this.asking.size >= MAX_ASKING || this.stopped.signal.aborted) return
    this.asking.add(peer)
    const ours = this.inFlight.get(peer) ?? 0
    try {
      const offer = await this.c.network.computeOffer(peer, AbortSignal.any([AbortSignal.timeout(OFFER_TIMEOUT_MS), this.stopped.signal]))
      const othersLoad = Math.max(0, offer.workers - offer.freeSlots + offer.queued - Math.min(ours, offer.yours))
      this.entries.set(peer, { offer, at: Date.now(), othersLoad })
    } catch (err) {
      this.entries.delete(peer)
      this.c.logger.debug({ peer, err: errorMessage(err) }, 'a peer gave no compute offer')
    } finally {
      this.asking.delete(peer)
    }
  }
}
