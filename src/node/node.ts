import '../polyfill.js'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateKeypair, type IpvmConfig } from '../config/index.js'
import { createLogger, type Logger } from '../util/logger.js'
import type { Startable } from '../util/lifecycle.js'
import { packageVersion } from '../util/package.js'
import { collectGarbage } from '../util/memory.js'
import { getHeapStatistics } from 'node:v8'
import { Store, importFile } from '../store/index.js'
import { WasmRunner, defaultWasmRunnerOptions, wasmRunnerOptions } from '../runtime/index.js'
import { ResourceResolver, resourceResolverOptions } from '../resources/index.js'
import { WorkflowEngine, workflowEngineOptions } from '../workflow/index.js'
import type { Network } from '../network/index.js'
import type { Compute, ExecutorFaults } from '../compute/index.js'
import { OpenRpc, Router, RpcServer, computeInfoJson, createMethods, isLoopbackHost, methodRoutes, routerOptions, rpcServerOptions, uploadRoutes, type NodeInfo, type RpcServices } from '../rpc/index.js'
import { MetricsServer, createMetrics, createMetricsRegistry, metricsServerOptions, metricsToJson, type Metrics, type Registry } from '../metrics/index.js'
import { dashboardRoutes, dashboardUploads } from '../dashboard/index.js'
import { NodeError, NodeErrorCode } from './errors.js'
import { removePortsFile, writePortsFile } from './ports-file.js'
import { LateNetwork } from './late-network.js'

export interface NodeInit {
  config: IpvmConfig
  /** @default a pino logger at config.node.log_level on stderr */
  logger?: Logger
  /** Check every RPC result against api.json (tests). @default false */
  validateResults?: boolean
  /**
   * The network is loaded and started once this settles, after JSON-RPC answers (tests hold
   * it to see the node while its network is starting). @default settled
   */
  networkGate?: Promise<void>
  /** For tests only: faults injected into the executor that runs peers' tasks (a dishonest node). */
  testFaults?: ExecutorFaults
}

/** Parts of a node that start after JSON-RPC answers; `health` lists those still starting. */
export type StartingPart = 'network'

/**
 * libp2p is loaded once no JSON-RPC connection has been opened for this long after JSON-RPC
 * listens (so a client polling a starting node every few ms gets its answer first), and at
 * most this long after.
 */
const NETWORK_AFTER_QUIET_MS = 25
const NETWORK_AFTER_MAX_MS = 250

/** How much the heap must have grown since the last collection for the node to collect it when quiet. */
const RELEASE_AFTER_GROWTH_BYTES = 16 * 1024 * 1024

type Status = 'created' | 'starting' | 'started' | 'stopping' | 'stopped'

/**
 * The node: builds every subsystem from the settings, starts them in dependency order
 * (store, Wasm runner, resources, workflows, JSON-RPC, metrics, then the network: libp2p is
 * loaded only once JSON-RPC answers, and `health` says it is starting until it is up) and
 * stops them in reverse. It only wires: what each part does lives in its subsystem.
 * `start()` resolves once every part is up; `stop()` is idempotent.
 */
export class IpvmNode {
  readonly config: IpvmConfig
  readonly logger: Logger
  readonly registry: Registry
  readonly metrics: Metrics
  private status: Status = 'created'
  private readonly started: Startable[] = []
  private readonly dataDir: string
  private readonly validateResults: boolean
  private readonly networkGate: Promise<void>
  private readonly starting = new Set<StartingPart>()
  private readonly testFaults?: ExecutorFaults
  private peerIdString = ''
  private portsWritten = false
  /** The heap's size (committed) after the last `releaseMemory`, or at start. */
  private heapAfterRelease = getHeapStatistics().total_heap_size
  private network?: Network
  private compute?: Compute
  private rpc?: RpcServer
  private router?: Router
  private metricsServer?: MetricsServer

  constructor (init: NodeInit) {
    this.config = init.config
    this.logger = init.logger ?? createLogger({ level: init.config.node.log_level, format: init.config.node.log_format })
    this.dataDir = resolve(init.config.node.data_dir)
    this.validateResults = init.validateResults ?? false
    this.networkGate = init.networkGate ?? Promise.resolve()
    if (init.testFaults !== undefined) this.testFaults = init.testFaults
    this.registry = createMetricsRegistry()
    this.metrics = createMetrics(this.registry, { maxLabelValues: init.config.metrics.max_label_values })
  }

  get peerId (): string { return this.peerIdString }
  get rpcPort (): number { return this.rpc?.port ?? 0 }
  get rpcUrl (): string { return `ws://${this.rpc?.address ?? ''}` }
  get metricsPort (): number { return this.metricsServer?.listening === true ? this.metricsServer.port : 0 }
  get registeredMethods (): string[] { return this.router?.registeredMethods() ?? [] }
  /** libp2p addresses with /p2p/<id>, to give other nodes as --peer. */
  get multiaddrs (): string[] { return this.network?.started === true ? this.network.multiaddrs() : [] }
  get portsFile (): string { return join(this.dataDir, 'ports.json') }
  /** Parts still starting (JSON-RPC answers before the network is up). */
  get startingParts (): StartingPart[] { return [...this.starting] }

  async start (): Promise<void> {
    if (this.status !== 'created') throw new NodeError(NodeErrorCode.STATE, `cannot start a node that is ${this.status}`)
    this.status = 'starting'
    const t0 = performance.now()
    try {
      await this.build()
      this.status = 'started'
      this.logger.info({ peer_id: this.peerId, rpc: this.rpc?.address, metrics: this.metricsServer?.listening === true ? `${this.config.metrics.host}:${this.metricsPort}` : null, data_dir: this.dataDir, ms: Math.round(performance.now() - t0) }, 'node started')
    } catch (err) {
      this.status = 'stopping'
      await this.stopAll()
      this.removePorts()
      this.status = 'stopped'
      throw err
    }
  }

  async stop (): Promise<void> {
    if (this.status === 'stopped' || this.status === 'stopping') return
    this.status = 'stopping'
    await this.stopAll()
    this.removePorts()
    this.status = 'stopped'
    this.logger.info({ peer_id: this.peerId }, 'node stopped')
  }

  nodeInfo (): NodeInfo {
    const network = this.network?.started === true ? this.network : undefined
    const gossip = network?.gossipStatus() ?? null
    const compute = network !== undefined ? this.compute?.info() : undefined
    return {
      static: { peer_id: this.peerId },
      dynamic: {
        listeners: network?.listeners() ?? [],
        connections: network?.connections() ?? {},
        ...(gossip !== null ? { gossip } : {}),
        ...(compute !== undefined ? { compute: computeInfoJson(compute, this.config.workflow.placement) } : {})
      }
    }
  }

  private async build (): Promise<void> {
    const { config, metrics, dataDir } = this
    const log = (module: string): Logger => this.logger.child({ module })
    mkdirSync(dataDir, { recursive: true })
    const privateKey = await loadOrCreateKeypair({ keyFile: config.node.key_file, seed: config.node.key_seed })
    this.peerIdString = peerIdFromPrivateKey(privateKey).toString()
    metrics.node.info.set({ version: packageVersion, peer_id: this.peerIdString }, 1)

    const store = await this.startOne(new Store({ dataDir }, { logger: log('store'), metrics: metrics.store }))
    const wasmOptions = wasmRunnerOptions(config, dataDir)
    // when the workers go quiet after a busy spell and no run is under way, the heap's garbage from it goes too
    let engineBusy = (): boolean => true
    const runner = await this.startOne(new WasmRunner(wasmOptions, { logger: log('runtime'), quiet: () => { if (!engineBusy()) this.releaseMemory() } }))

    const late = config.network.enable ? new LateNetwork() : undefined
    if (late !== undefined) this.starting.add('network')
    const resources = new ResourceResolver(resourceResolverOptions(config.resources), { store, logger: log('resources') })
    const engine = await this.startOne(new WorkflowEngine(workflowEngineOptions(config.workflow), {
      store,
      runner,
      resources,
      resultTypes: runner,
      logger: log('workflow'),
      metrics,
      ...(late !== undefined ? { peers: late.peerReceipts(), dispatcher: late.dispatcher() } : {})
    }))
    engineBusy = () => engine.busy

    const openrpc = new OpenRpc()
    const router = new Router(routerOptions(config, this.validateResults), { openrpc, logger: log('rpc'), metrics: metrics.rpc })
    const services: RpcServices = {
      openrpc,
      checkHealth: () => store.checkHealth(),
      nodeInfo: () => this.nodeInfo(),
      startingParts: () => this.startingParts,
      peerId: () => this.peerId,
      metricsJson: async prefix => await metricsToJson(this.registry, prefix !== undefined ? { prefix } : {}),
      workflows: engine,
      networkEvents: listener => late?.subscribe(listener) ?? (() => {}),
      addFile: async body => await importFile(store.blocks, body)
    }
    for (const method of createMethods(services, { maxJsonDepth: config.rpc.max_json_depth, maxTasks: config.workflow.max_tasks })) router.register(method)
    this.router = router
    this.rpc = await this.startOne(new RpcServer(rpcServerOptions(config.rpc), {
      router,
      logger: log('rpc'),
      metrics: metrics.rpc,
      routes: { ...dashboardRoutes({}, { workflowBody: async cid => await store.workflows.getBody(cid) }), ...methodRoutes(router) },
      uploads: { ...uploadRoutes(services), ...dashboardUploads({ maxPlanBytes: config.rpc.max_frame_bytes, maxPlanTasks: config.workflow.max_tasks, maxPlanDepth: config.rpc.max_json_depth }) }
    }))
    if (!isLoopbackHost(config.rpc.host) && config.rpc.auth_token === '') {
      this.logger.warn({ rpc: this.rpc.address }, 'JSON-RPC is listening on a non-loopback address without rpc.auth_token: anyone who can reach it can run workflows and upload files')
    }
    if (config.metrics.enable) {
      this.metricsServer = await this.startOne(new MetricsServer(metricsServerOptions(config.metrics), { registry: this.registry, logger: log('metrics') }))
    }

    // clients can find the node as soon as it answers, and find it again once it is all up
    this.writePorts()
    if (late !== undefined) {
      await this.networkGate
      // reading, compiling and starting libp2p holds the thread for ~100 ms: the clients that
      // were waiting for the node to answer (they find it by ports.json) are let in first
      await this.rpc.whenQuiet(NETWORK_AFTER_QUIET_MS, NETWORK_AFTER_MAX_MS)
      const { Network, PeerReceiptService, homestarReceiptExchange, networkOptions } = await import('../network/index.js')
      this.assertStarting()
      const network = new Network(networkOptions(config.network, `ipvm-node/${packageVersion}`), {
        privateKey,
        logger: log('network'),
        blocks: store.blocks,
        receipts: homestarReceiptExchange(),
        receiptStore: store.receipts,
        metrics
      })
      await network.start()
      // stopped after the workflows and JSON-RPC, as though it had started before them
      this.started.splice(this.started.indexOf(engine), 0, network)
      this.network = network
      // stopped meanwhile (a signal while libp2p started): start's failure path stops it again
      this.assertStarting()
      resources.addSource(network.blockSource())
      const { Compute, computeOptions } = await import('../compute/index.js')
      const compute = new Compute(computeOptions(config.compute), {
        network,
        runner,
        resources,
        resultTypes: runner,
        privateKey,
        limits: { defaultTimeoutMs: config.workflow.default_timeout_ms, maxTimeoutMs: config.workflow.max_timeout_ms, defaultMemoryBytes: config.workflow.default_memory_bytes, maxMemoryBytes: wasmOptions.maxMemoryBytes ?? defaultWasmRunnerOptions.maxMemoryBytes },
        schemes: ['ipfs', ...(config.resources.allow_http_hosts.length > 0 ? ['http', 'https'] : [])],
        localQueued: () => runner.poolStats().queued,
        logger: log('compute'),
        metrics,
        ...(this.testFaults !== undefined ? { faults: this.testFaults } : {})
      })
      await compute.start()
      this.started.splice(this.started.indexOf(engine), 0, compute)
      this.compute = compute
      this.assertStarting()
      late.bind(network, new PeerReceiptService({ network, logger: log('network') }), compute.dispatcher)
      this.starting.delete('network')
      this.writePorts()
    }

    // runs a previous process left unfinished go on, now that clients can watch and control
    // them (requests about runs wait until they are loaded)
    void engine.resumeUnfinished()
  }

  /** Only a ports.json this node wrote: a node that failed to start on a folder another node holds leaves that one's alone. */
  private removePorts (): void {
    if (this.portsWritten) removePortsFile(this.portsFile)
  }

  private assertStarting (): void {
    if (this.status !== 'starting') throw new NodeError(NodeErrorCode.STATE, 'the node was stopped while starting')
  }

  private writePorts (): void {
    const { rpc, metrics } = this.config
    this.portsWritten = true
    writePortsFile(this.portsFile, {
      pid: process.pid,
      rpc: { host: rpc.host, port: this.rpcPort },
      metrics: this.metricsServer?.listening === true ? { host: metrics.host, port: this.metricsPort } : null,
      listeners: this.multiaddrs,
      peer_id: this.peerId,
      ...(this.starting.size > 0 ? { starting: [...this.starting] } : {})
    })
  }

  /**
   * A compacting collection of the main thread's heap once the Wasm workers have gone quiet
   * and no run is under way, when the heap grew by `RELEASE_AFTER_GROWTH_BYTES` since the last
   * one: a node that ran a large workflow or many gives that garbage back instead of keeping
   * it until V8 next needs room; one that ran a few small workflows is left alone (a
   * collection costs more than such a workflow).
   */
  private releaseMemory (): void {
    if (this.status !== 'started') return
    const before = getHeapStatistics()
    if (before.total_heap_size - this.heapAfterRelease < RELEASE_AFTER_GROWTH_BYTES) return
    const t0 = performance.now()
    if (!collectGarbage()) return
    const after = getHeapStatistics()
    this.heapAfterRelease = after.total_heap_size
    this.logger.debug({ ms: Math.round(performance.now() - t0), heapBefore: before.total_heap_size, heapAfter: after.total_heap_size, usedBefore: before.used_heap_size, usedAfter: after.used_heap_size }, 'workers quiet: heap collected')
  }

  private async startOne<S extends Startable> (s: S): Promise<S> {
    await s.start()
    this.started.push(s)
    return s
  }

  private async stopAll (): Promise<void> {
    for (const s of this.started.splice(0).reverse()) {
      try {
        await s.stop()
      } catch (err) {
        this.logger.warn({ err }, 'a subsystem failed to stop cleanly')
      }
    }
  }
}

/** Builds and starts a node. */
export async function createNode (init: NodeInit): Promise<IpvmNode> {
  const node = new IpvmNode(init)
  await node.start()
  return node
}
