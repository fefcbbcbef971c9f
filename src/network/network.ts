import { setMaxListeners } from 'node:events'
import type { Connection, PeerInfo } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { errorMessage } from '../util/errors.js'
import type { Startable } from '../util/lifecycle.js'
import type { Logger } from '../util/logger.js'
import { Bitswap, type BitswapSession } from './bitswap/bitswap.js'
import { peerBlockSource } from './bitswap/source.js'
import { ReceiptDht, type FoundReceipt } from './dht.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import { NetworkEvents, type NetworkNotificationListener } from './events.js'
import { ReceiptGossip } from './gossip.js'
import { invalidReason } from './invalid.js'
import { createNetworkNode, KAD_PROTOCOL, type NetworkNode } from './libp2p.js'
import { resolveNetworkOptions, type NetworkOptions } from './options.js'
import { parseMultiaddr, PeerDialer, peerIdOf, withoutPeerId } from './peers.js'
import type { Receipt } from '../ipld/index.js'
import { ReceiptNetwork } from './receipt-network.js'
import { ComputeTransport, type ComputePeerListener, type ComputeService } from './compute-transport.js'
import type { ComputeOffer, RemoteTaskAnswer, RemoteTaskRequest } from './compute-wire.js'
import type { TrustPolicy } from './trust.js'
import type { NetworkComponents } from './types.js'

/** A DHT lookup needs a few round trips; shorter timeouts end nearly all of them empty. */
const MIN_USEFUL_DHT_TIMEOUT_MS = 200

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
  private compute?: ComputeTransport
  private computeService?: ComputeService
  private computeListener?: ComputePeerListener
  private stopController = new AbortController()
  private readonly announced = new Set<string>()
  /** Receipts on the network: trust, intake, DHT records, the receipt exchange. */
  private readonly receiptNetwork: ReceiptNetwork

  constructor (options: Partial<NetworkOptions>, private readonly components: NetworkComponents) {
    this.options = resolveNetworkOptions(options)
    for (const addr of this.options.listen) parseMultiaddr(addr, 'listen')
    this.peerAddrs = this.options.peers.map((addr) => parseMultiaddr(addr, 'peers'))
    this.peerId = peerIdFromPrivateKey(components.privateKey).toString()
    this.log = components.logger.child({ module: 'network' })
    this.events = new NetworkEvents((err) => { this.log.warn({ err: errorMessage(err) }, 'network event listener failed') })
    this.receiptNetwork = new ReceiptNetwork(this.options, { ...components, events: this.events, logger: this.log, peerId: this.peerId })
    if (this.options.dhtTimeoutMs === 0) this.log.warn('network.dht_timeout_ms is 0: receipts are never looked up in the DHT (peers are still asked over the receipt exchange)')
    else if (this.options.dhtTimeoutMs < MIN_USEFUL_DHT_TIMEOUT_MS) this.log.warn({ dht_timeout_ms: this.options.dhtTimeoutMs }, `network.dht_timeout_ms under ${MIN_USEFUL_DHT_TIMEOUT_MS} ms is too short for most lookups to finish`)
    // the peers the operator named by address are trusted (those without /p2p/<id> once dialed)
    for (const addr of this.peerAddrs) {
      const id = peerIdOf(addr)
      if (id !== undefined) this.trust.trust(id)
    }
  }

  /** Whose receipts are reused. */
  get trust (): TrustPolicy {
    return this.receiptNetwork.trust
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
    // every DHT put waiting in the queue listens on it
    setMaxListeners(0, this.stopController.signal)
    const node = await createNetworkNode(this.options, {
      privateKey: this.components.privateKey,
      exchange: this.components.receipts,
      datastore: this.receiptNetwork.records,
      isDenied: (peer) => this.receiptNetwork.isDenied(peer.toString()),
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
        intake: async (receipts, vouchers) => await this.receiptNetwork.takeMany(receipts, vouchers),
        maxPending: this.options.maxPendingGossip,
        onMute: (peer) => { void node.hangUp(peerIdFromString(peer)).catch(() => {}) }
      })
      this.gossip.start()
    }
    this.dht = new ReceiptDht({
      libp2p: node,
      dht: node.services.dht,
      protocol: KAD_PROTOCOL,
      exchange: receipts,
      events: this.events,
      logger: this.log,
      metrics,
      selfId: this.peerId,
      connectedPeerCount: () => node.getPeers().length,
      signal,
      localRecord: async (key) => await this.receiptNetwork.records.localRecord(key)
    })
    await this.receiptNetwork.attach({ node, dht: this.dht, signal, ...(this.gossip !== undefined ? { gossip: this.gossip } : {}) })
    this.bitswap = new Bitswap({ libp2p: node, logger: this.log, blocks }, { peerTimeoutMs: this.options.blockPeerTimeoutMs })
    await this.bitswap.start()
    this.compute = new ComputeTransport({ node, trust: this.trust, events: this.events, logger: this.log })
    this.compute.serve(this.computeService)
    this.compute.watch(this.computeListener)
    await this.compute.start()
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
    await this.receiptNetwork.detach()
    await this.bitswap?.stop()
    await this.compute?.stop()
    await node.stop()
    this.gossip = undefined
    this.dht = undefined
    this.bitswap = undefined
    this.compute = undefined
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

  /** Whether gossip reaches peers: its mesh, subscribers, and when receipts last came and went; null when gossip is off. */
  gossipStatus (): ReturnType<ReceiptGossip['status']> | null {
    return this.gossip?.status() ?? null
  }

  /**
   * A receipt this node computed for an instruction: the peer's receipt it displaced in the
   * store and candidates from peers that disagree with it are conflicts; then it is signed,
   * gossiped, and put in the DHT in the background.
   */
  async announceReceipt (receipt: Receipt, instruction: CID, displaced?: CID): Promise<void> {
    await this.receiptNetwork.announce(receipt, instruction, displaced)
  }

  /** A replayed receipt goes out by gossip again, with a fresh nonce, as Homestar does. */
  async regossipReceipt (receipt: Receipt, instruction: CID): Promise<boolean> {
    return this.hasPeers ? await this.receiptNetwork.regossip(receipt, instruction) : false
  }

  /**
   * Receipts for a run's instructions from peers: one request to each connected ipvm peer for
   * all of them, then the DHT for the ones still missing. What the trust policy admits lands
   * in the receipt store; true where it did.
   */
  async findReceipts (instructions: CID[], signal?: AbortSignal): Promise<boolean[]> {
    return await this.receiptNetwork.findMany(instructions, signal)
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
    return await this.receiptNetwork.find(instruction, options)
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

  // ---- compute: tasks this node runs for peers and sends to them ----

  /** Who runs peers' tasks here (the compute subsystem); without one, every peer is refused. */
  serveCompute (service: ComputeService | undefined): void {
    this.computeService = service
    this.compute?.serve(service)
  }

  /** Hears of connected peers tasks may go to (they speak the compute protocols), and of peers that left. */
  watchComputePeers (listener: ComputePeerListener | undefined): void {
    this.computeListener = listener
    this.compute?.watch(listener)
  }

  /** Connected peers tasks may go to: they speak the compute protocols and the trust policy trusts them. */
  async computePeers (): Promise<string[]> {
    return await this.compute?.peers() ?? []
  }

  /** Whether the trust policy lets tasks go to this peer. */
  mayDispatchTo (peer: string): boolean {
    return this.compute?.mayDispatchTo(peer) ?? false
  }

  /** A peer's compute offer (throws when it is not one tasks may go to, refuses, or fails). */
  async computeOffer (peer: string, signal: AbortSignal): Promise<ComputeOffer> {
    return await this.requireCompute().offer(peer, signal)
  }

  /** Sends a ready task to a peer and waits for its answer (see `ComputeTransport.dispatch`). */
  async dispatchTask (peer: string, request: RemoteTaskRequest, opts: { signal: AbortSignal, onStarted: () => void }): Promise<RemoteTaskAnswer> {
    return await this.requireCompute().dispatch(peer, request, opts)
  }

  /** A peer's result for an instruction disagrees with this node's (`ours`): a conflict of that peer. */
  reportConflict (instruction: CID, ours: CID, theirs: CID, peer: string): void {
    this.receiptNetwork.conflict(instruction, ours, theirs, peer)
  }

  private requireCompute (): ComputeTransport {
    if (this.compute === undefined) throw new NetworkError(NetworkErrorCode.NOT_STARTED, 'the network is not started')
    return this.compute
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
