import type { Network } from '../network/index.js'
import type { PeerReceipts, TaskDispatcher } from '../workflow/index.js'

type Listener = Parameters<Network['subscribe']>[0]
type Announced = Parameters<PeerReceipts['publish']>[0]

/** Receipts computed before the network is up, announced once it is; beyond this many the oldest are dropped (the receipt exchange with trusted peers brings them back). */
const MAX_EARLY_RECEIPTS = 1024

/**
 * The network for the parts built before it: the node answers JSON-RPC while libp2p is still
 * loading and starting. Until `bind`, peers are asked for nothing (there are none yet),
 * receipts to announce wait in a bounded queue, network event listeners wait for the
 * network, and every task runs here (there is no peer to send it to); afterwards every call
 * goes straight to it.
 */
export class LateNetwork {
  private network?: Network
  private peers?: PeerReceipts
  private dispatch?: TaskDispatcher
  private readonly early: Array<{ kind: 'publish' | 'replayed', receipt: Announced }> = []
  private readonly listeners = new Set<Listener>()
  private readonly unsubscribers = new Map<Listener, () => void>()

  /** The network is up: queued announcements go out and waiting listeners subscribe. */
  bind (network: Network, peers: PeerReceipts, dispatcher?: TaskDispatcher): void {
    this.network = network
    this.peers = peers
    if (dispatcher !== undefined) this.dispatch = dispatcher
    for (const { kind, receipt } of this.early.splice(0)) peers[kind](receipt)
    for (const listener of this.listeners) this.unsubscribers.set(listener, network.subscribe(listener))
    this.listeners.clear()
  }

  /** What the workflow engine sees as its peers. */
  peerReceipts (): PeerReceipts {
    return {
      findMany: async (instructions, signal) => await (this.peers?.findMany(instructions, signal) ?? Promise.resolve(instructions.map(() => false))),
      publish: r => { this.announce('publish', r) },
      replayed: r => { this.announce('replayed', r) }
    }
  }

  /** What the workflow engine sees as its dispatcher: the compute subsystem once it is up, this node before. */
  dispatcher (): TaskDispatcher {
    return {
      execute: async (task, hooks) => this.dispatch !== undefined
        ? await this.dispatch.execute(task, hooks)
        : { output: await hooks.runLocal(), vouchers: [], computedHere: true }
    }
  }

  /** Network events for `listener`, from when the network is up if it is not yet. */
  subscribe (listener: Listener): () => void {
    if (this.network !== undefined) return this.network.subscribe(listener)
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
      this.unsubscribers.get(listener)?.()
      this.unsubscribers.delete(listener)
    }
  }

  private announce (kind: 'publish' | 'replayed', receipt: Announced): void {
    if (this.peers !== undefined) {
      this.peers[kind](receipt)
      return
    }
    this.early.push({ kind, receipt })
    if (this.early.length > MAX_EARLY_RECEIPTS) this.early.shift()
  }
}
