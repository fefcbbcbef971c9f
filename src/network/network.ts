import type { Connection, PeerInfo } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { errorMessage } from '../util/errors.js'
import type { Startable } from '../util/lifecycle.js'
import type { Logger } from '../util/logger.js'
import { Bitswap, type BitswapSession } from './bitswap/bitswap.js'
import { peerBlockSource } from './bitswap/source.js'
import { instructionFromRecordKey, ReceiptDht, type FoundReceipt } from './dht.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import { NetworkEvents, type NetworkNotificationListener } from './events.js'
import { ReceiptGossip } from './gossip.js'
import { invalidReason } from './invalid.js'
import { createNetworkNode, KAD_PROTOCOL, type NetworkNode } from './libp2p.js'
import { resolveNetworkOptions, type NetworkOptions } from './options.js'
import { parseMultiaddr, PeerDialer, peerIdOf, withoutPeerId } from './peers.js'
import { decode, encode, encodeReceiptCapsule, parseReceipt, receiptCid, type Receipt } from '../ipld/index.js'
import { HomestarDht, instructionOfKey } from './homestar-dht.js'
import { signReceipt, verifyReceiptSignature } from './attestation.js'
import { receiptWireForms } from './homestar-receipts.js'
import { ReceiptIntake } from './intake.js'
import { BoundedRecordStore } from './record-store.js'
import { TrustPolicy } from './trust.js'
import type { NetworkComponents, Voucher } from './types.js'

export interface PublishReceiptInput {
  /** Receipt CID. */
  cid: CID
  ran: CID
  instruction: CID
  /** Gossip message bytes (`{header: {nonce}, payload}`); not gossiped when absent. */
  gossipBytes?: Uint8Array
  /** DHT capsule bytes (`{"ipvm/receipt": ...}`); not put when absent. */
  dhtBytes?: Uint8Array
}

export interface PublishReceiptResult {
  /** Whether the gossip message went out (false without subscribers or with gossip off). */
  gossiped: boolean
  /** The DHT put, or null when it was not attempted (no bytes, or no connected peer). */
  dht: { quorumReached: boolean, storedTo: string[] } | null
}

/**
 * The node's libp2p side: receipt gossip, receipt records in the Kademlia DHT, block exchange
 * (bitswap) and peer management, with Homestar-shaped notifications for subscribers.
 */
export class Network implements Startable {
  readonly options: NetworkOptions
  /** The local peer id (base58), stable for a given private key. */
  readonly peerId: string
  private readonly log: Logger
  private readonly events: NetworkEvents
  private readonly peerAddrs: Multiaddr[]
  private node?: NetworkNode
  private gossip?: ReceiptGossip
  private dht?: ReceiptDht
  private bitswap?: Bitswap
  private dialer?: PeerDialer
  private homestar?: HomestarDht
  private stopController = new AbortController()
  private readonly announced = new Set<string>()
  /** Whose receipts are reused. */
  readonly trust: TrustPolicy
  private readonly intake: ReceiptIntake
  private readonly records: BoundedRecordStore
  /** Conflicting receipts each peer vouched for, and the peers refused for it. */
  private readonly conflicts = new Map<string, number>()
  private readonly denied = new Set<string>()

  constructor (options: Partial<NetworkOptions>, private readonly components: NetworkComponents) {
    this.options = resolveNetworkOptions(options)
    for (const addr of this.options.listen) parseMultiaddr(addr, 'listen')
    this.peerAddrs = this.options.peers.map((addr) => parseMultiaddr(addr, 'peers'))
    this.peerId = peerIdFromPrivateKey(components.privateKey).toString()
    this.log = components.logger.child({ module: 'network' })
    this.events = new NetworkEvents((err) => { this.log.warn({ err: errorMessage(err) }, 'network event listener failed') })
    this.trust = new TrustPolicy({ mode: this.options.trust, trustedPeers: this.options.trustedPeers, quorum: this.options.receiptQuorumAgree })
    // the peers the operator named by address are trusted (those without /p2p/<id> once dialed)
    for (const addr of this.peerAddrs) {
      const id = peerIdOf(addr)
      if (id !== undefined) this.trust.trust(id)
    }
    const { metrics } = components
    this.records = new BoundedRecordStore({ maxRecords: this.options.maxDhtRecords, maxBytes: this.options.maxDhtRecordBytes }, metrics,
      async (key) => await this.recordFor(key))
    this.intake = new ReceiptIntake({ maxCandidates: this.options.maxReceiptCandidates, maxCandidateBytes: this.options.maxReceiptCandidateBytes }, {
      trust: this.trust,
      store: components.receiptStore,
      events: this.events,
      logger: this.log,
      ...(metrics !== undefined ? { metrics } : {}),
      onConflict: (peer) => { this.penalise(peer) }
    })
    metrics?.receipts.candidates.setCollector(() => this.intake.candidateCount)
  }

  /** Receive every network notification; returns the function that unsubscribes. */
  subscribe (listener: NetworkNotificationListener): () => void {
    return this.events.subscribe(listener)
  }

  get started (): boolean {
    return this.node !== undefined
  }

  async start (): Promise<void> {
    if (this.node !== undefined) return
    this.stopController = new AbortController()
    const node = await createNetworkNode(this.options, {
      privateKey: this.components.privateKey,
      exchange: this.components.receipts,
      datastore: this.records,
      isDenied: (peer) => this.denied.has(peer.toString()),
      onInvalidRecord: (err) => { this.onInvalid(err, { via: 'dht' }) }
    })
    node.addEventListener('connection:open', (event) => { this.onConnection('connection_established', event.detail) })
    node.addEventListener('connection:close', (event) => { this.onConnection('connection_closed', event.detail) })
    node.addEventListener('self:peer:update', () => { this.announceListeners() })
    try {
      await node.start()
    } catch (err) {
      await Promise.resolve().then(async () => { await node.stop() }).catch(() => {})
      throw new NetworkError(NetworkErrorCode.START_FAILED, `libp2p did not start: ${errorMessage(err)}`, { listen: this.options.listen }, { cause: err })
    }
    this.node = node
    const { receipts, metrics, blocks } = this.components
    const signal = this.stopController.signal
    this.dialer = new PeerDialer(this.peerAddrs, { initialDelayMs: this.options.redialInitialDelayMs, maxDelayMs: this.options.redialMaxDelayMs }, {
      libp2p: node,
      events: this.events,
      logger: this.log,
      onConfigured: (peer) => { this.trust.trust(peer) }
    })
    if (this.options.gossip) {
      this.gossip = new ReceiptGossip({
        pubsub: node.services.pubsub,
        exchange: receipts,
        events: this.events,
        logger: this.log,
        metrics,
        onInvalid: (err, context) => { this.onInvalid(err, context) },
        intake: async (receipt, vouchers) => await this.intake.take(receipt, vouchers),
        maxPending: this.options.maxPendingGossip
      })
      this.gossip.start()
    }
    this.dht = new ReceiptDht({ libp2p: node, dht: node.services.dht, protocol: KAD_PROTOCOL, exchange: receipts, events: this.events, logger: this.log, metrics, selfId: this.peerId, connectedPeerCount: () => node.getPeers().length, signal })
    this.homestar = new HomestarDht({ libp2p: node, protocol: KAD_PROTOCOL, exchange: receipts, logger: this.log })
    this.bitswap = new Bitswap({ libp2p: node, logger: this.log, blocks }, { peerTimeoutMs: this.options.blockPeerTimeoutMs })
    await this.bitswap.start()
    node.services.mdns?.addEventListener('peer', (event) => { void this.onMdnsPeer(event.detail) })
    this.announceListeners()
    this.dialer.start()
    this.log.debug({ peerId: this.peerId, listeners: this.listeners() }, 'network started')
  }

  async stop (): Promise<void> {
    const node = this.node
    if (node === undefined) return
    this.node = undefined
    this.dialer?.stop()
    this.gossip?.stop()
    this.stopController.abort()
    await this.bitswap?.stop()
    await node.stop()
    this.gossip = undefined
    this.dht = undefined
    this.homestar = undefined
    this.bitswap = undefined
    this.dialer = undefined
    this.announced.clear()
    this.components.metrics?.network.peers.set(0)
  }

  /** Listen multiaddrs (wildcards expanded to interface addresses), without `/p2p/<id>`. */
  listeners (): string[] {
    if (this.node === undefined) return []
    return [...new Set(this.node.getMultiaddrs().map((addr) => withoutPeerId(addr).toString()))]
  }

  /** Listen multiaddrs with `/p2p/<id>`, ready to give to peers. */
  multiaddrs (): string[] {
    return this.node?.getMultiaddrs().map((addr) => addr.toString()) ?? []
  }

  /** Connected peers: peer id to the remote multiaddr of its first open connection. */
  connections (): Record<string, string> {
    const result: Record<string, string> = {}
    for (const connection of this.node?.getConnections() ?? []) {
      const id = connection.remotePeer.toString()
      if (!(id in result)) result[id] = connection.remoteAddr.toString()
    }
    return result
  }

  /** Whether any peer is connected (cheap: no listing is built). */
  get hasPeers (): boolean {
    return (this.node?.getPeers().length ?? 0) > 0
  }

  /** Peers subscribed to the receipts topic (empty when gossip is off). */
  gossipPeers (): string[] {
    return this.gossip?.subscribers() ?? []
  }

  /** Peers in this node's gossip mesh for the receipts topic (empty when gossip is off). */
  gossipMeshPeers (): string[] {
    return this.gossip?.meshPeers() ?? []
  }

  /**
   * A receipt this node computed for an instruction: the peer's receipt it displaced in the
   * store and candidates from peers that disagree with it are conflicts; then it is signed and
   * published (gossip and DHT) when a peer is connected.
   */
  async announceReceipt (receipt: Receipt, instruction: CID, displaced?: CID): Promise<PublishReceiptResult | null> {
    const cid = receiptCid(receipt)
    const out = encode([receipt.out[0], receipt.out[1]])
    if (displaced !== undefined) await this.intake.displaced(instruction, cid, out, displaced)
    this.intake.settle(instruction, cid, out)
    if (!this.hasPeers) return null
    const signature = await signReceipt(this.components.privateKey, cid, instruction)
    const { gossipBytes, dhtBytes } = receiptWireForms(receipt, instruction, signature)
    const [published] = await Promise.all([
      this.publishReceipt({ cid, ran: receipt.ran, instruction, gossipBytes, dhtBytes }),
      // Homestar peers take the record in their form, under the bare instruction CID
      this.homestar?.put(instruction, encodeReceiptCapsule(receipt), AbortSignal.any([AbortSignal.timeout(this.options.dhtPutTimeoutMs), this.stopController.signal]))
    ])
    return published
  }

  /**
   * A receipt this node replays (it computed it, or trusted peers vouched for it) goes out by
   * gossip again, with a fresh nonce, as Homestar does; peers that already hold it drop it.
   */
  async regossipReceipt (receipt: Receipt, instruction: CID): Promise<boolean> {
    const gossip = this.gossip
    if (gossip === undefined || !this.hasPeers) return false
    const { cid, gossipBytes } = receiptWireForms(receipt, instruction)
    return await gossip.publish({ cid, ran: receipt.ran }, gossipBytes)
  }

  /**
   * The DHT record of a receipt this node holds, for a peer's lookup of a key it does not
   * hold in memory: this node's signed form under `/ipvm/receipt/<cid>` when it computed the
   * receipt, Homestar's unsigned form otherwise and under the bare instruction CID.
   */
  private async recordFor (key: Uint8Array): Promise<Uint8Array | undefined> {
    const instruction = instructionOfKey(key, instructionFromRecordKey)
    if (instruction === undefined) return undefined
    const found = await this.components.receiptStore.getByInstruction(instruction)
    if (found === undefined) return undefined
    const receipt = parseReceipt(decode(found.bytes))
    const own = found.provenance === undefined || found.provenance.local
    return encodeReceiptCapsule(receipt, own && key[0] === 0x2f ? await signReceipt(this.components.privateKey, found.cid, instruction) : undefined)
  }

  /**
   * Gossips the receipt (when gossip is on and some peer subscribes) and puts its record in the
   * DHT with `receiptQuorum` (when a peer is connected). Quorum failure is an event, not an error.
   */
  async publishReceipt (receipt: PublishReceiptInput): Promise<PublishReceiptResult> {
    this.requireNode()
    const gossip = this.gossip
    const dht = this.dht as ReceiptDht
    const [gossiped, stored] = await Promise.all([
      gossip !== undefined && receipt.gossipBytes !== undefined ? gossip.publish(receipt, receipt.gossipBytes) : false,
      receipt.dhtBytes !== undefined && this.hasPeers
        ? dht.put({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, dhtBytes: receipt.dhtBytes }, this.options.receiptQuorum, this.options.dhtPutTimeoutMs)
        : null
    ])
    return { gossiped, dht: stored === null ? null : { quorumReached: stored.ok, storedTo: stored.storedTo } }
  }

  /**
   * Looks the receipt of an instruction up in the DHT, for at most `timeoutMs` (default
   * `dhtTimeoutMs`). Each valid record is weighed by the trust policy, attributed to the peer
   * that signed it (an unsigned record, such as Homestar's, is attributed to nobody, or under
   * `trust = "any"` to the peer that answered); the first one admitted ends the lookup and is
   * returned, and it is in the receipt store by then. Not found, timeout and abort give null.
   */
  async findReceipt (instruction: CID, options: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<FoundReceipt | null> {
    this.requireNode()
    if (!this.hasPeers || options.signal?.aborted === true) return null
    const timeoutMs = options.timeoutMs ?? this.options.dhtTimeoutMs
    const accept = async (found: FoundReceipt): Promise<boolean> => {
      try {
        const verdict = await this.intake.take(found, await this.vouchersOf(found))
        return verdict === 'stored' || verdict === 'known'
      } catch (err) {
        this.log.warn({ cid: found.cid.toString(), err: errorMessage(err) }, 'could not weigh a receipt found in the DHT')
        return false
      }
    }
    const found = await (this.dht as ReceiptDht).find(instruction, { timeoutMs, signal: options.signal, accept })
    if (found !== null || this.homestar === undefined) return found
    // Homestar peers keep their records under the bare instruction CID
    const signals = [AbortSignal.timeout(timeoutMs), this.stopController.signal, ...(options.signal !== undefined ? [options.signal] : [])]
    return await this.homestar.find(instruction, AbortSignal.any(signals), accept)
  }

  /** Who vouches for a record found in the DHT. */
  private async vouchersOf (found: FoundReceipt): Promise<Voucher[]> {
    if (found.signature !== undefined) {
      const signer = await verifyReceiptSignature(found.signature, found.cid, found.instruction)
      return signer === undefined ? [] : [{ peer: signer, via: 'dht', signed: true }]
    }
    return this.trust.mode === 'any' ? [{ peer: found.publisher ?? this.peerId, via: 'dht', signed: false }] : []
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
    const node = this.node
    if (node !== undefined) void node.hangUp(peerIdFromString(peer)).catch(() => {})
  }

  /**
   * Fetches a block from peers with bitswap, verifying its hash (and keeps it in `blocks`
   * unless `keep` is false). Blocks of one `session` are asked of the peers that had its
   * earlier blocks. Throws `NETWORK_BLOCK_NOT_FOUND`, `NETWORK_BLOCK_TIMEOUT`,
   * `NETWORK_NO_PEERS`, `NETWORK_ABORTED` or `NETWORK_UNSUPPORTED_HASH`.
   */
  async getBlock (cid: CID, options: { timeoutMs?: number, signal?: AbortSignal, session?: BitswapSession, keep?: boolean } = {}): Promise<Uint8Array> {
    this.requireNode()
    return await (this.bitswap as Bitswap).getBlock(cid, { ...options, timeoutMs: options.timeoutMs ?? this.options.blockTimeoutMs })
  }

  /** Peers as a source of blocks for resources the store lacks (see `peerBlockSource`). */
  blockSource (): ReturnType<typeof peerBlockSource> {
    return peerBlockSource(async (cid, opts) => await this.getBlock(cid, opts), () => this.hasPeers)
  }

  private requireNode (): NetworkNode {
    if (this.node === undefined) throw new NetworkError(NetworkErrorCode.NOT_STARTED, 'the network is not started')
    return this.node
  }

  private onInvalid (err: unknown, context: Record<string, unknown>): void {
    const reason = invalidReason(err)
    this.components.metrics?.receipts.invalidFromPeers.inc({ reason })
    this.log.debug({ ...context, reason, err: errorMessage(err) }, 'dropped an invalid receipt from a peer')
  }

  private onConnection (type: 'connection_established' | 'connection_closed', connection: Connection): void {
    this.events.emit(type, { address: connection.remoteAddr.toString(), peer_id: connection.remotePeer.toString() })
    const node = this.node
    if (node !== undefined) this.components.metrics?.network.peers.set(node.getPeers().length)
  }

  private announceListeners (): void {
    if (this.node === undefined) return
    for (const address of this.listeners()) {
      if (this.announced.has(address)) continue
      this.announced.add(address)
      this.events.emit('new_listen_addr', { address, peer_id: this.peerId })
    }
  }

  private async onMdnsPeer (peer: PeerInfo): Promise<void> {
    const node = this.node
    const dialer = this.dialer
    if (node === undefined || dialer === undefined) return
    const id = peer.id.toString()
    if (id === this.peerId || peer.multiaddrs.length === 0) return
    this.events.emit('discovered_mdns', { peers: { [id]: peer.multiaddrs[0].toString() } })
    const connected = node.getConnections(peer.id).length > 0
    if (connected || node.getConnections().length >= this.options.maxConnections) return
    await node.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs }).catch(() => {})
    await dialer.dialOnce(peer.id, id)
  }
}
