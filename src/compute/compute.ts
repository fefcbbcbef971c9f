import type { PrivateKey } from '@libp2p/interface'
import type { Startable } from '../util/lifecycle.js'
import type { Logger } from '../util/logger.js'
import type { ComputeMetrics, ReceiptMetrics } from '../metrics/index.js'
import type { ComputeOffer, Network } from '../network/index.js'
import type { PrepareOptions, ResourceFetcher, ResultTypes, TaskDispatcher, TaskRunner } from '../workflow/index.js'
import { Dispatcher } from './dispatcher.js'
import { Executor, type ExecutorFaults } from './executor.js'
import { OfferBook, type PeerOfferInfo } from './offers.js'
import { resolveComputeOptions, type AcceptPolicy, type ComputeOptions } from './options.js'

export type ComputeNetwork = Pick<Network, 'serveCompute' | 'watchComputePeers' | 'computePeers' | 'computeOffer' | 'dispatchTask' | 'mayDispatchTo' | 'reportConflict' | 'trust'>

export interface ComputeComponents {
  network: ComputeNetwork
  runner: TaskRunner
  resources: ResourceFetcher
  resultTypes?: ResultTypes
  privateKey: PrivateKey
  /** This node's task limits, which peers' tasks get too. */
  limits: PrepareOptions & { maxMemoryBytes: number }
  /** Resource URL schemes this node can fetch. @default ['ipfs'] */
  schemes?: string[]
  /** Wasm calls waiting for a worker here now. */
  localQueued?: () => number
  logger: Logger
  metrics?: { compute: ComputeMetrics, receipts: ReceiptMetrics }
  /** For tests only (see `ExecutorFaults`). */
  faults?: ExecutorFaults
}

/** What `node` reports of distributed execution. */
export interface ComputeInfo {
  accept: AcceptPolicy
  verify: string
  /** This node's own offer (as a peer with no task here would get it). */
  offer: ComputeOffer | null
  /** Peers' tasks running or queued here. */
  serving: number
  /** The fresh offers of the peers tasks may go to. */
  peers: PeerOfferInfo[]
}

/**
 * Distributed execution: the executor that runs peers' tasks (under `compute.accept` and its
 * quotas), the offers of the peers this node may send tasks to, and the dispatcher the
 * workflow engine hands ready tasks to.
 */
export class Compute implements Startable {
  readonly options: ComputeOptions
  private readonly executor: Executor
  private readonly book: OfferBook
  private readonly _dispatcher: Dispatcher

  constructor (options: Partial<ComputeOptions>, private readonly c: ComputeComponents) {
    this.options = resolveComputeOptions(options)
    this.executor = new Executor(this.options, {
      trust: c.network.trust,
      runner: c.runner,
      resources: c.resources,
      privateKey: c.privateKey,
      limits: c.limits,
      schemes: c.schemes ?? ['ipfs'],
      logger: c.logger,
      ...(c.localQueued !== undefined ? { localQueued: c.localQueued } : {}),
      ...(c.metrics !== undefined ? { metrics: c.metrics.compute } : {}),
      ...(c.faults !== undefined ? { faults: c.faults } : {})
    })
    this.book = new OfferBook({ intervalMs: this.options.offerIntervalMs, ttlMs: this.options.offerTtlMs }, {
      network: c.network,
      logger: c.logger,
      ...(c.metrics !== undefined ? { metrics: c.metrics.compute } : {})
    })
    this._dispatcher = new Dispatcher(this.options, {
      network: c.network,
      book: this.book,
      resources: c.resources,
      ...(c.resultTypes !== undefined ? { resultTypes: c.resultTypes } : {}),
      servedHere: () => this.executor.running,
      logger: c.logger,
      ...(c.metrics !== undefined ? { metrics: c.metrics } : {})
    })
  }

  /** What the workflow engine hands ready tasks to. */
  get dispatcher (): TaskDispatcher {
    return this._dispatcher
  }

  start (): Promise<void> {
    const { network, logger } = this.c
    if (this.options.accept === 'any') logger.warn('compute.accept is "any": any peer that connects can run Wasm on this node')
    network.serveCompute(this.options.accept === 'none' ? undefined : this.executor)
    network.watchComputePeers(this.book)
    this.book.start()
    return Promise.resolve()
  }

  stop (): Promise<void> {
    this.c.network.serveCompute(undefined)
    this.c.network.watchComputePeers(undefined)
    this.book.stop()
    return Promise.resolve()
  }

  info (): ComputeInfo {
    return {
      accept: this.options.accept,
      verify: this.options.verify,
      offer: this.options.accept === 'none' ? null : this.executor.offer(''),
      serving: this.executor.running,
      peers: this.book.info()
    }
  }
}
