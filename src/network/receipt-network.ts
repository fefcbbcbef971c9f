import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { cidText, decode, encode, encodeReceiptCapsule, parseReceipt, receiptCid, type Receipt } from '../ipld/index.js'
import { errorMessage } from '../util/errors.js'
import { LruMap } from '../util/lru.js'
import type { Logger } from '../util/logger.js'
import { Semaphore } from '../util/semaphore.js'
import { recordVouchers, signReceipt } from './attestation.js'
import { instructionFromRecordKey, type FoundReceipt, type ReceiptDht } from './dht.js'
import type { NetworkEvents } from './events.js'
import { MAX_WANT } from './exchange-wire.js'
import type { ReceiptGossip } from './gossip.js'
import { HomestarDht, instructionOfKey } from './homestar-dht.js'
import { receiptWireForms } from './homestar-receipts.js'
import { ReceiptIntake, type IntakeVerdict } from './intake.js'
import { KAD_PROTOCOL, type NetworkNode } from './libp2p.js'
import type { NetworkOptions } from './options.js'
import { ReceiptExchangePeers } from './receipt-exchange.js'
import { BoundedRecordStore } from './record-store.js'
import { TrustPolicy } from './trust.js'
import type { DecodedReceipt, NetworkComponents, Voucher } from './types.js'

/** Receipts remembered as recently stored, for anti-entropy. */
const RECENT_RECEIPTS = 2048
/** Peers asked for a run's receipts (trusted first, at random): a few, so a run's cost does not grow with the peers;
 * gossip gives every peer the same receipts, and DHT lookups reach the peers closest to each key. */
const MAX_ASKED_PEERS = 2
/** DHT lookups at once. */
const MAX_DHT_LOOKUPS = 8
/** DHT puts of announced receipts in flight, and waiting (the oldest dropped beyond it). */
const PUT_CONCURRENCY = 2
const MAX_QUEUED_PUTS = 1024

function chunks<T> (items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export interface ReceiptNetworkParts {
  node: NetworkNode
  dht: ReceiptDht
  gossip?: ReceiptGossip
  signal: AbortSignal
}

/**
 * Everything about receipts on the network: the trust policy and the intake that applies it,
 * this node's records in the DHT (and Homestar's form of them), announcing, gossiping again,
 * finding, and the receipt exchange with ipvm peers: a run asks its peers for all its tasks'
 * receipts in one request each, and a periodic exchange of recently stored receipt CIDs with a
 * peer brings back what gossip lost (anti-entropy).
 */
export class ReceiptNetwork {
  readonly trust: TrustPolicy
  readonly intake: ReceiptIntake
  readonly records: BoundedRecordStore
  /** Recently stored receipts by receipt CID, newest last. */
  private readonly recent = new LruMap<string, { cid: CID, instruction: CID }>(RECENT_RECEIPTS)
  private readonly conflicts = new Map<string, number>()
  private readonly denied = new Set<string>()
  private readonly puts = new Semaphore(PUT_CONCURRENCY)
  private readonly log: Logger
  private parts?: ReceiptNetworkParts & { homestar: HomestarDht }
  private readonly exchange: ReceiptExchangePeers
  constructor (private readonly options: NetworkOptions, private readonly c: NetworkComponents & { events: NetworkEvents, peerId: string }) {
    this.log = c.logger
    this.trust = new TrustPolicy({ mode: options.trust, trustedPeers: options.trustedPeers, quorum: options.receiptQuorumAgree })
    this.records = new BoundedRecordStore({ maxRecords: options.maxDhtRecords, maxBytes: options.maxDhtRecordBytes }, c.metrics, async (key) => await this.recordFor(key))
    this.intake = new ReceiptIntake({ maxCandidates: options.maxReceiptCandidates, maxCandidateBytes: options.maxReceiptCandidateBytes }, {
      trust: this.trust,
      store: c.receiptStore,
      events: c.events,
      logger: this.log,
      ...(c.metrics !== undefined ? { metrics: c.metrics } : {}),
      onConflict: (peer) => { this.penalise(peer) }
    })
    c.metrics?.receipts.candidates.setCollector(() => this.intake.candidateCount)
    this.exchange = new ReceiptExchangePeers({ syncIntervalMs: options.receiptSyncIntervalMs, timeoutMs: options.dhtPutTimeoutMs }, {
      privateKey: c.privateKey,
      store: c.receiptStore,
      codec: c.receipts,
      records: this.records,
      trust: this.trust,
      recent: this.recent,
      take: async (receipt, vouchers) => await this.take(receipt, vouchers),
      logger: this.log
    })
  }

  isDenied (peer: string): boolean {
    return this.denied.has(peer)
  }

  async attach (parts: ReceiptNetworkParts): Promise<void> {
    const homestar = new HomestarDht({ libp2p: parts.node, protocol: KAD_PROTOCOL, exchange: this.c.receipts, events: this.c.events, logger: this.log, ...(this.c.metrics !== undefined ? { metrics: this.c.metrics } : {}) })
    this.parts = { ...parts, homestar }
    await this.exchange.attach(parts.node, parts.signal)
  }

  async detach (): Promise<void> {
    const parts = this.parts
    this.parts = undefined
    if (parts === undefined) return
    parts.homestar.close()
    await this.exchange.detach()
  }

  /** Weighs a receipt from peers under the trust policy; remembers the ones stored. */
  async take (receipt: DecodedReceipt, vouchers: Voucher[]): Promise<IntakeVerdict> {
    return (await this.takeMany([receipt], vouchers))[0]
  }

  /** `take` for receipts the same peers vouch for (a gossip batch), with one read and one write of the store. */
  async takeMany (receipts: DecodedReceipt[], vouchers: Voucher[]): Promise<IntakeVerdict[]> {
    const verdicts = await this.intake.takeMany(receipts, vouchers)
    receipts.forEach((receipt, n) => {
      if (verdicts[n] === 'stored' || verdicts[n] === 'known') this.recent.set(cidText(receipt.cid), { cid: receipt.cid, instruction: receipt.instruction })
    })
    return verdicts
  }

  /**
   * A receipt this node computed: the peer's receipt it displaced and candidates that
   * disagree with it are conflicts; then it is gossiped at once and put in the DHT (signed)
   * and on Homestar peers in the background, a bounded number at a time.
   */
  async announce (receipt: Receipt, instruction: CID, displaced?: CID): Promise<void> {
    const cid = receiptCid(receipt)
    const out = encode([receipt.out[0], receipt.out[1]])
    if (displaced !== undefined) await this.intake.displaced(instruction, cid, out, displaced)
    this.intake.settle(instruction, cid, out)
    this.recent.set(cidText(cid), { cid, instruction })
    const parts = this.parts
    if (parts === undefined || parts.node.getConnections().length === 0) return
    const { gossipBytes } = receiptWireForms(receipt, instruction)
    const dhtBytes = async (): Promise<Uint8Array> => encodeReceiptCapsule(receipt, await signReceipt(this.c.privateKey, cid, instruction))
    // the peers gossip reaches store the receipt and answer DHT lookups for it from their
    // store: the DHT put skips them, so a receipt costs one gossip message per peer in a mesh
    const gossiped = await parts.gossip?.publish({ cid, ran: receipt.ran }, gossipBytes) === true ? new Set(parts.gossip?.subscribers()) : new Set<string>()
    if (this.puts.waiting >= MAX_QUEUED_PUTS) {
      this.c.metrics?.network.peerInputDropped.inc({ kind: 'dht_put_queue' })
      return
    }
    void this.puts.acquire(parts.signal).then(async release => {
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(this.options.dhtPutTimeoutMs), parts.signal])
        await Promise.all([
          parts.dht.put({ cid, ran: receipt.ran, instruction, dhtBytes }, this.options.receiptQuorum, this.options.dhtPutTimeoutMs, peer => gossiped.has(peer)),
          parts.homestar.put(instruction, encodeReceiptCapsule(receipt), signal)
        ])
      } finally {
        release()
      }
    }, () => {})
  }

  /** A result of a peer's that disagrees with this node's (or other peers') for an instruction: a conflict of that peer. */
  conflict (instruction: CID, ours: CID, theirs: CID, peer: string): void {
    this.intake.reportConflict({ cid: theirs, instruction }, ours, [{ peer, via: 'dispatch', signed: true }])
  }

  /** A replayed receipt goes out by gossip again, with a fresh nonce, as Homestar does. */
  async regossip (receipt: Receipt, instruction: CID): Promise<boolean> {
    const gossip = this.parts?.gossip
    if (gossip === undefined) return false
    const { cid, gossipBytes } = receiptWireForms(receipt, instruction)
    return await gossip.publish({ cid, ran: receipt.ran }, gossipBytes)
  }

  /**
   * Receipts for a run's instructions from peers: one request to each connected peer (at most
   * `MAX_ASKED_PEERS`, trusted ones first) for all of them at once, then the DHT, a bounded
   * number at a time, for the ones still missing. What the trust policy admits lands in the
   * store; true where it did.
   */
  async findMany (instructions: CID[], signal?: AbortSignal): Promise<boolean[]> {
    const parts = this.parts
    const found = instructions.map(() => false)
    if (parts === undefined || instructions.length === 0 || parts.node.getConnections().length === 0) return found
    const index = new Map(instructions.map((cid, n) => [cidText(cid), n]))
    const bounded = AbortSignal.any([AbortSignal.timeout(this.options.dhtTimeoutMs), parts.signal, ...(signal !== undefined ? [signal] : [])])
    /** Asks a peer for the receipts of instructions `ns` and takes what it answers; whether it answered. */
    const ask = async (peer: PeerId, ns: number[]): Promise<boolean> => {
      const answer = await this.exchange.request(peer, { want: ns.map(n => instructions[n]) }, bounded)
      if (answer === undefined) return false
      for (const r of answer) {
        const n = index.get(cidText(r.instruction))
        if (n !== undefined && await this.exchange.takeExchanged(r, peer.toString())) found[n] = true
      }
      return true
    }
    const wanted = instructions.slice(0, MAX_WANT).map((_, n) => n)
    // peers that answered for all the instructions: the DHT lookups below do not ask them again
    const asked = new Set<string>()
    await Promise.all(this.exchange.peers().slice(0, MAX_ASKED_PEERS).map(async peer => {
      if (await ask(peer, wanted) && wanted.length === instructions.length) asked.add(peer.toString())
    }))
    const lookups = new Semaphore(MAX_DHT_LOOKUPS)
    // The peers closest to a key hold its DHT record if anyone does. Those that speak the
    // exchange are asked once each, for every key they are close to (they answer from their
    // store and from the records peers put on them), so a run's lookups cost a message per
    // peer, not per task; the DHT then asks only the others (Homestar peers), or walks.
    const askedFor = instructions.map(() => asked)
    const byPeer = new Map<string, { peer: PeerId, wants: number[] }>()
    for (const [n, instruction] of instructions.entries()) {
      if (found[n]) continue
      for (const peer of await parts.dht.closestKnown(instruction)) {
        const id = peer.toString()
        if (asked.has(id) || !this.exchange.speaks(id)) continue
        const group = byPeer.get(id) ?? { peer, wants: [] }
        group.wants.push(n)
        byPeer.set(id, group)
      }
    }
    await Promise.all([...byPeer.values()].flatMap(({ peer, wants }) => chunks(wants, MAX_WANT).map(async part => {
      const release = await lookups.acquire(signal).catch(() => undefined)
      if (release === undefined) return
      try {
        if (await ask(peer, part)) for (const n of part) askedFor[n] = new Set([...askedFor[n], peer.toString()])
      } finally {
        release()
      }
    })))
    await Promise.all(instructions.map(async (instruction, n) => {
      if (found[n]) return
      const release = await lookups.acquire(signal).catch(() => undefined)
      if (release === undefined) return
      try {
        found[n] = await this.find(instruction, { asked: askedFor[n], ...(signal !== undefined ? { signal } : {}) }) !== null
      } finally {
        release()
      }
    }))
    return found
  }

  /**
   * One instruction's receipt from the DHT (this node's form, then Homestar's on Homestar
   * peers), each record weighed by the trust policy; the first one admitted ends the lookup.
   */
  async find (instruction: CID, options: { timeoutMs?: number, signal?: AbortSignal, asked?: ReadonlySet<string> } = {}): Promise<FoundReceipt | null> {
    const parts = this.parts
    if (parts === undefined || parts.node.getConnections().length === 0 || options.signal?.aborted === true) return null
    const timeoutMs = options.timeoutMs ?? this.options.dhtTimeoutMs
    const accept = async (found: FoundReceipt): Promise<boolean> => {
      try {
        const verdict = await this.take(found, await this.vouchersOf(found))
        return verdict === 'stored' || verdict === 'known'
      } catch (err) {
        this.log.warn({ cid: found.cid.toString(), err: errorMessage(err) }, 'could not weigh a receipt found in the DHT')
        return false
      }
    }
    const found = await parts.dht.find(instruction, { timeoutMs, signal: options.signal, accept, ...(options.asked !== undefined ? { asked: options.asked } : {}) })
    if (found !== null) return found
    const signals = [AbortSignal.timeout(timeoutMs), parts.signal, ...(options.signal !== undefined ? [options.signal] : [])]
    return await parts.homestar.find(instruction, AbortSignal.any(signals), accept)
  }

  /** Who vouches for a record found in the DHT. */
  private async vouchersOf (found: FoundReceipt): Promise<Voucher[]> {
    return await recordVouchers(found, found.publisher ?? this.c.peerId, this.trust.mode === 'any')
  }

  /**
   * The DHT record of a receipt this node holds, for a peer's lookup of a key it does not
   * hold in memory: under `/ipvm/receipt/<cid>`, signed by this node, which vouches for what
   * its store holds (it computed it, or its trust policy admitted it: a receipt that came by
   * gossip is found this way, not put again by its maker); under the bare instruction CID,
   * Homestar's unsigned form.
   */
  private async recordFor (key: Uint8Array): Promise<Uint8Array | undefined> {
    const instruction = instructionOfKey(key, instructionFromRecordKey)
    if (instruction === undefined) return undefined
    const found = await this.c.receiptStore.getByInstruction(instruction)
    if (found === undefined) return undefined
    return encodeReceiptCapsule(parseReceipt(decode(found.bytes)), key[0] === 0x2f ? await signReceipt(this.c.privateKey, found.cid, instruction) : undefined)
  }

  /**
   * A peer vouched for a conflicting receipt (gossipsub already lowered its score when the
   * message came by gossip). After `maxPeerConflicts` of them a peer the operator did not
   * name is disconnected and refused from then on.
   */
  private penalise (peer: string): void {
    const count = (this.conflicts.get(peer) ?? 0) + 1
    this.conflicts.set(peer, count)
    if (count < this.options.maxPeerConflicts || this.trust.isNamed(peer) || this.denied.has(peer)) return
    this.denied.add(peer)
    this.log.warn({ peer, conflicts: count }, 'disconnecting a peer that vouched for conflicting receipts; it is refused from now on')
    void this.parts?.node.hangUp(peerIdFromString(peer)).catch(() => {})
  }

}
