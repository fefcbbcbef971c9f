import './polyfill.js'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createHash } from 'node:crypto'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { loadOrCreateKeypair, type IpvmConfig } from './config/index.js'
import { createLogger, type Logger } from './util/logger.js'
import type { Startable } from './util/lifecycle.js'
import { IpvmError } from './util/errors.js'
import { Store, importFile } from './store/index.js'
import { WasmRunner } from './runtime/index.js'
import { ResourceResolver, KuboBlockSource, GatewayBlockSource, isContentAddressedUrl, type BlockSource } from './resources/index.js'
import { WorkflowEngine, receiptBytes, type PeerReceipts, type TaskRunner } from './workflow/index.js'
import { Network, homestarReceiptExchange, receiptWireForms } from './network/index.js'
import type { Receipt } from './ipld/index.js'
import { OpenRpc, Router, RpcServer, createMethods, isLoopbackHost, type RpcServices, type NodeInfo, type GetRoute } from './rpc/index.js'
import { MetricsServer, createMetrics, createMetricsRegistry, metricsToJson, type Metrics, type Registry } from './metrics/index.js'
import { packageVersion } from './util/package.js'
import { dashboardRoutes, dashboardUploads } from './dashboard/index.js'

export const NodeErrorCode = {
  STATE: 'NODE_STATE',
  UNHEALTHY: 'NODE_UNHEALTHY'
} as const

export class NodeError extends IpvmError<typeof NodeErrorCode[keyof typeof NodeErrorCode]> {}

export interface NodeInit {
  config: IpvmConfig
  /** @default a pino logger at config.node.log_level on stderr */
  logger?: Logger
  /** Check every RPC result against api.json (tests). @default false */
  validateResults?: boolean
}

/** What `<data>/ports.json` holds while the node runs. */
export interface PortsFile {
  pid: number
  rpc: { host: string, port: number }
  metrics: { host: string, port: number } | null
  listeners: string[]
  peer_id: string
}

/** How long a successful read of the store vouches for the node's health. */
const HEALTH_PROBE_INTERVAL_MS = 1000

type Status = 'created' | 'starting' | 'started' | 'stopping' | 'stopped'

/**
 * The composition root: builds every subsystem from the settings, starts them in
 * dependency order and stops them in reverse. `stop()` is idempotent.
 */
export class IpvmNode {
  readonly config: IpvmConfig
  readonly logger: Logger
  private status: Status = 'created'
  private readonly started: Startable[] = []
  private privateKey?: PrivateKey
  private network?: Network
  private rpc?: RpcServer
  private metricsServer?: MetricsServer
  readonly registry: Registry
  readonly metrics: Metrics
  private router?: Router
  private peerIdString = ''
  private readonly dataDir: string
  private readonly validateResults: boolean

  constructor (init: NodeInit) {
    this.config = init.config
    this.logger = init.logger ?? createLogger({ level: init.config.node.log_level })
    this.dataDir = resolve(init.config.node.data_dir)
    this.validateResults = init.validateResults ?? false
    this.registry = createMetricsRegistry()
    this.metrics = createMetrics(this.registry)
  }

  get peerId (): string {
    return this.peerIdString
  }

  get rpcPort (): number {
    return this.rpc?.port ?? 0
  }

  get rpcUrl (): string {
    return `ws://${this.rpc?.address ?? ''}`
  }

  get metricsPort (): number {
    return this.metricsServer?.listening === true ? this.metricsServer.port : 0
  }

  get registeredMethods (): string[] {
    return this.router?.registeredMethods() ?? []
  }

  /** libp2p addresses with /p2p/<id>, to give other nodes as --peer. */
  get multiaddrs (): string[] {
    return this.network?.started === true ? this.network.multiaddrs() : []
  }

  get portsFile (): string {
    return join(this.dataDir, 'ports.json')
  }

  async start (): Promise<void> {
    if (this.status !== 'created') throw new NodeError(NodeErrorCode.STATE, `cannot start a node that is ${this.status}`)
    this.status = 'starting'
    const t0 = performance.now()
    try {
      mkdirSync(this.dataDir, { recursive: true })
      this.privateKey = await loadOrCreateKeypair({ keyFile: this.config.node.key_file, seed: this.config.node.key_seed })
      this.peerIdString = peerIdFromPrivateKey(this.privateKey).toString()

      const metrics = this.metrics
      metrics.node.info.set({ version: packageVersion, peer_id: this.peerIdString }, 1)

      const store = new Store({ dataDir: this.dataDir }, { logger: this.logger.child({ module: 'store' }) })
      await this.startOne(store)
      metrics.store.sizeBytes.setCollector(async () => await store.sizeBytes())

      const runner = new WasmRunner({
        defaultTimeoutMs: this.config.workflow.default_timeout_ms,
        defaultMemoryBytes: this.config.workflow.default_memory_bytes,
        cacheDir: join(this.dataDir, 'cache', 'wasm')
      }, { logger: this.logger.child({ module: 'runtime' }) })
      await this.startOne(runner)

      const sources: BlockSource[] = []
      if (this.config.resources.kubo_api !== '') sources.push(new KuboBlockSource(this.config.resources.kubo_api))
      if (this.config.resources.gateway !== '') sources.push(new GatewayBlockSource(this.config.resources.gateway))
      const resources = new ResourceResolver({
        allowFileRoots: this.config.resources.allow_file_roots,
        allowHttpHosts: this.config.resources.allow_http_hosts
      }, { store, logger: this.logger.child({ module: 'resources' }), sources })

      let peers: PeerReceipts | undefined
      if (this.config.network.enable) {
        const net = this.config.network
        const network = new Network({
          listen: net.listen,
          peers: net.peers,
          mdns: net.mdns,
          gossip: net.gossip,
          receiptQuorum: net.receipt_quorum,
          dhtTimeoutMs: net.dht_timeout_ms,
          agentVersion: `ipvm-node/${packageVersion}`
        }, {
          privateKey: this.privateKey,
          logger: this.logger.child({ module: 'network' }),
          blocks: store.blocks,
          receipts: homestarReceiptExchange(async r => {
            const { stored } = await store.receipts.put({ cid: r.cid, instruction: r.instruction, bytes: receiptBytes(r.record) })
            if (stored) metrics.receipts.fromPeers.inc()
          }),
          metrics: {
            peers: metrics.network.peers,
            gossipReceived: { inc: () => metrics.network.gossipMessages.inc({ direction: 'in' }) },
            gossipPublished: { inc: () => metrics.network.gossipMessages.inc({ direction: 'out' }) },
            invalidReceipts: metrics.receipts.invalidFromPeers
          }
        })
        await this.startOne(network)
        this.network = network
        network.subscribe(event => {
          if ('receipt_quorum_success_dht' in event) metrics.network.dhtOps.inc({ op: 'put_receipt', outcome: 'ok' })
          else if ('receipt_quorum_failure_dht' in event) metrics.network.dhtOps.inc({ op: 'put_receipt', outcome: 'error' })
        })
        resources.addSource({
          name: 'peers',
          getBlock: async (cid, opts) => {
            // with nobody to ask, fail now rather than wait for a peer to turn up
            if (!network.hasPeers) throw new Error('no peers connected')
            return await network.getBlock(cid, opts)
          }
        })
        peers = {
          find: async (instruction, signal) => {
            if (!network.hasPeers) return null
            const found = await network.findReceipt(instruction, signal !== undefined ? { signal } : {})
            metrics.network.dhtOps.inc({ op: 'get_receipt', outcome: found === null ? 'not_found' : 'ok' })
            return found === null ? null : { cid: found.cid, receipt: found.record as Receipt }
          },
          publish: ({ instruction, receipt }) => {
            if (!network.hasPeers) return
            const { cid, gossipBytes, dhtBytes } = receiptWireForms(receipt, instruction)
            network.publishReceipt({ cid, ran: receipt.ran, instruction, gossipBytes, dhtBytes })
              .catch(err => this.logger.debug({ err, receipt: cid.toString() }, 'publishing a receipt failed'))
          }
        }
      }

      const engine = new WorkflowEngine({
        concurrency: this.config.workflow.concurrency,
        retries: this.config.workflow.retries,
        retryInitialDelayMs: this.config.workflow.retry_initial_delay_ms,
        retryMaxDelayMs: this.config.workflow.retry_max_delay_ms,
        defaultTimeoutMs: this.config.workflow.default_timeout_ms,
        defaultMemoryBytes: this.config.workflow.default_memory_bytes,
        maxTasks: this.config.workflow.max_tasks,
        maxRuns: this.config.workflow.max_runs,
        maxQueuedRuns: this.config.workflow.max_queued_runs,
        maxRestarts: this.config.workflow.max_restarts
      }, { store, runner: this.config.resources.allow_file_roots.length + this.config.resources.allow_http_hosts.length > 0 ? contentKeyedRunner(runner) : runner, resources: { fetchResource: async (url, opts) => ({ bytes: await resources.fetch(url, opts), key: url }), fetchCid: async (cid, opts) => await resources.fetchCid(cid, opts) }, logger: this.logger.child({ module: 'workflow' }), metrics, ...(peers !== undefined ? { peers } : {}) })
      await this.startOne(engine)

      let lastHealthyAt = 0
      const openrpc = new OpenRpc()
      const router = new Router({ validateResults: this.validateResults, maxBatch: this.config.rpc.max_batch }, {
        openrpc,
        logger: this.logger.child({ module: 'rpc' }),
        metrics: {
          observe: (method, outcome, seconds) => {
            metrics.rpc.requests.inc({ method, outcome })
            metrics.rpc.durationSeconds.observe({ method }, seconds)
          }
        }
      })
      const services: RpcServices = {
        openrpc,
        checkHealth: async () => {
          // a read of the store at most once a second; health is asked often (probes, load balancers)
          if (Date.now() - lastHealthyAt < HEALTH_PROBE_INTERVAL_MS) return
          await store.ping()
          lastHealthyAt = Date.now()
        },
        nodeInfo: () => this.nodeInfo(),
        metricsJson: async prefix => await metricsToJson(this.registry, prefix !== undefined ? { prefix } : {}),
        workflows: {
          submit: async (workflow, opts) => await engine.submit(workflow, opts),
          status: async cid => await engine.status(cid),
          list: async opts => await engine.list(opts),
          cancel: async cid => await engine.cancel(cid),
          pause: async cid => await engine.pause(cid),
          resume: async cid => await engine.resume(cid),
          receipt: async cid => await engine.receipt(cid),
          receipts: async cid => await engine.receipts(cid)
        },
        networkEvents: listener => this.network?.subscribe(listener) ?? (() => {})
      }
      for (const method of createMethods(services)) router.register(method)
      this.router = router

      const rpc = new RpcServer({
        host: this.config.rpc.host,
        port: this.config.rpc.port,
        maxFrameBytes: this.config.rpc.max_frame_bytes,
        notificationFormat: this.config.rpc.notification_format,
        authToken: this.config.rpc.auth_token,
        maxJsonDepth: this.config.rpc.max_json_depth,
        maxConnections: this.config.rpc.max_connections,
        maxSubscriptionsPerConnection: this.config.rpc.max_subscriptions_per_connection,
        maxRequestsPerSecond: this.config.rpc.max_requests_per_second,
        requestBurst: this.config.rpc.request_burst,
        maxBufferedBytes: this.config.rpc.max_buffered_bytes,
        maxUploadBytes: this.config.rpc.max_upload_bytes,
        allowedOrigins: this.config.rpc.allowed_origins,
        allowedHosts: this.config.rpc.allowed_hosts
      }, {
        router,
        logger: this.logger.child({ module: 'rpc' }),
        routes: this.getRoutes(router),
        uploads: { '/add': async body => ({ cid: (await importFile(store.blocks, body)).toString() }), ...dashboardUploads({ maxPlanBytes: this.config.rpc.max_frame_bytes }) },
        metrics: { clientDropped: reason => metrics.rpc.droppedClients.inc({ reason }) }
      })
      await this.startOne(rpc)
      this.rpc = rpc
      if (!isLoopbackHost(this.config.rpc.host) && this.config.rpc.auth_token === '') {
        this.logger.warn({ rpc: rpc.address }, 'JSON-RPC is listening on a non-loopback address without rpc.auth_token: anyone who can reach it can run workflows and upload files')
      }
      metrics.rpc.connections.setCollector(() => rpc.connectionCount)
      metrics.rpc.subscriptions.setCollector(() => Object.entries(rpc.subscriptionCounts()).map(([kind, value]) => ({ labels: { kind }, value })))

      if (this.config.metrics.enable) {
        const metricsServer = new MetricsServer({ host: this.config.metrics.host, port: this.config.metrics.port }, { registry: this.registry, logger: this.logger.child({ module: 'metrics' }) })
        await this.startOne(metricsServer)
        this.metricsServer = metricsServer
      }

      this.writePortsFile()
      // runs a previous process left unfinished go on, now that clients can watch and control
      // them (requests about runs wait until they are loaded)
      void engine.resumeUnfinished()
      this.status = 'started'
      this.logger.info({ peer_id: this.peerId, rpc: rpc.address, data_dir: this.dataDir, ms: Math.round(performance.now() - t0) }, 'node started')
    } catch (err) {
      this.status = 'stopping'
      await this.stopAll()
      this.status = 'stopped'
      throw err
    }
  }

  async stop (): Promise<void> {
    if (this.status === 'stopped' || this.status === 'stopping') return
    this.status = 'stopping'
    await this.stopAll()
    rmSync(this.portsFile, { force: true })
    this.status = 'stopped'
    this.logger.info({ peer_id: this.peerId }, 'node stopped')
  }

  nodeInfo (): NodeInfo {
    const network = this.network?.started === true ? this.network : undefined
    return { static: { peer_id: this.peerId }, dynamic: { listeners: network?.listeners() ?? [], connections: network?.connections() ?? {} } }
  }

  private async startOne (s: Startable): Promise<void> {
    await s.start()
    this.started.push(s)
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

  private getRoutes (router: Router): Record<string, GetRoute> {
    const viaMethod = (method: string, unhealthyStatus = 500): GetRoute => async () => {
      const response = await router.handle({ jsonrpc: '2.0', id: 0, method }, { transport: 'http' })
      const r = response as { result?: unknown, error?: unknown }
      if (r.error !== undefined) return { status: unhealthyStatus, contentType: 'application/json', body: JSON.stringify(method === 'health' ? { healthy: false, error: r.error } : r.error) }
      return { status: 200, contentType: 'application/json', body: JSON.stringify(r.result) }
    }
    return {
      ...dashboardRoutes(),
      '/health': viaMethod('health', 503),
      '/node': viaMethod('node'),
      '/rpc_discover': viaMethod('rpc_discover'),
      '/rpc.discover': viaMethod('rpc.discover'),
      '/metrics': viaMethod('metrics')
    }
  }

  private writePortsFile (): void {
    const ports: PortsFile = {
      pid: process.pid,
      rpc: { host: this.config.rpc.host, port: this.rpcPort },
      metrics: this.metricsServer?.listening === true ? { host: this.config.metrics.host, port: this.metricsServer.port } : null,
      listeners: this.multiaddrs,
      peer_id: this.peerId
    }
    writeFileSync(this.portsFile, JSON.stringify(ports, null, 2) + '\n')
  }
}

/**
 * The runner keys compiled Wasm by resource URL. A `file://` or `http(s)://` URL may give
 * other bytes next time, so such resources are keyed by the hash of their bytes instead.
 */
function contentKeyedRunner (runner: WasmRunner): TaskRunner {
  return {
    run: async req => await runner.run(isContentAddressedUrl(req.key) ? req : { ...req, key: `sha256:${createHash('sha256').update(req.wasm).digest('hex')}` })
  }
}


/** Builds and starts a node. */
export async function createNode (init: NodeInit): Promise<IpvmNode> {
  const node = new IpvmNode(init)
  await node.start()
  return node
}
