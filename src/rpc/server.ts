import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Startable } from '../util/lifecycle.js'
import { AccessPolicy } from './access.js'
import { OutgoingBudget } from './buffers.js'
import { ClientBudgets } from './clients.js'
import { FrameHandler } from './frames.js'
import { resolveRpcServerOptions, type ResolvedRpcServerOptions, type RpcServerComponents, type RpcServerOptions } from './options.js'
import { createDispatch } from './transports/common.js'
import { HttpTransport } from './transports/http.js'
import { WebSocketTransport } from './transports/websocket.js'

export { defaultRpcServerOptions, rpcServerOptions } from './options.js'
export type { RpcServerOptions, RpcServerComponents, GetRoute, GetRouteResponse, UploadRoute } from './options.js'

/**
 * JSON-RPC 2.0 over WebSocket and HTTP POST on one port. It owns the listening socket; the
 * two transports frame messages, after one access policy (Host, Origin, token) lets a
 * request in, and the router does the rest.
 */
export class RpcServer implements Startable {
  private readonly opts: ResolvedRpcServerOptions
  private readonly components: RpcServerComponents
  private http?: Server
  private ws?: WebSocketTransport
  private readonly sockets = new Set<Socket>()
  private boundPort = 0
  /** When the last client connection was opened (performance.now()). */
  private lastConnectionAt = 0

  constructor (opts: Partial<RpcServerOptions>, components: RpcServerComponents) {
    this.opts = resolveRpcServerOptions(opts)
    this.components = components
  }

  get port (): number {
    return this.boundPort
  }

  get address (): string {
    return `${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.boundPort}`
  }

  get connectionCount (): number {
    return this.ws?.connectionCount ?? 0
  }

  /** Open subscriptions by method. */
  subscriptionCounts (): Record<string, number> {
    return this.ws?.subscriptionCounts() ?? {}
  }

  async start (): Promise<void> {
    const { router, logger, metrics, routes, uploads } = this.components
    const http = createServer()
    http.on('connection', (socket: Socket) => {
      this.lastConnectionAt = performance.now()
      socket.setNoDelay(true)
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(this.opts.port, this.opts.host, () => {
        http.off('error', reject)
        resolve()
      })
    })
    this.http = http
    this.boundPort = (http.address() as AddressInfo).port
    // built once the port is known: it is part of the node's own origin. No request is read
    // before the handlers below are attached (this runs before the next turn of the event loop).
    let policy: AccessPolicy
    try {
      policy = new AccessPolicy({ authToken: this.opts.authToken, allowedOrigins: this.opts.allowedOrigins, allowedHosts: this.opts.allowedHosts, listenHost: this.opts.host, port: this.boundPort })
    } catch (err) {
      await this.stop()
      throw err
    }
    policy.logWarnings(logger)
    metrics?.connections.setCollector(() => this.connectionCount)
    metrics?.subscriptions.setCollector(() => Object.entries(this.subscriptionCounts()).map(([kind, value]) => ({ labels: { kind }, value })))
    const dispatch = createDispatch(new FrameHandler(router, { maxJsonDepth: this.opts.maxJsonDepth }, logger))
    const budgets = new ClientBudgets({ ratePerSecond: this.opts.maxRequestsPerSecond, burst: this.opts.requestBurst })
    const limit = this.opts.maxTotalBufferedBytes
    const outgoing = new OutgoingBudget(limit, this.sockets, (socket, queued, total) => {
      metrics?.droppedClients.inc({ reason: 'memory_budget' })
      logger.warn({ remote: socket.remoteAddress, queued, total, limit }, 'unsent bytes across all clients are over rpc.max_total_buffered_bytes; disconnecting the client furthest behind')
    })
    const httpTransport = new HttpTransport(this.opts, { policy, dispatch, routes, uploads, budgets, outgoing })
    const ws = new WebSocketTransport(this.opts, { policy, dispatch, logger, metrics, budgets, outgoing })
    http.on('request', (req, res) => { void httpTransport.handle(req, res) })
    http.on('upgrade', (req, socket: Socket, head: Buffer) => ws.upgrade(req, socket, head))
    this.ws = ws
  }

  /**
   * Resolves once no client connection has been opened for `quietMs`, or after `maxMs` at
   * most: a node that has just started loads libp2p (which holds the thread for ~100 ms)
   * when the clients that were waiting for it to answer have been let in.
   */
  async whenQuiet (quietMs: number, maxMs: number): Promise<void> {
    const t0 = performance.now()
    for (;;) {
      const until = Math.min(Math.max(t0, this.lastConnectionAt) + quietMs, t0 + maxMs)
      const now = performance.now()
      if (now >= until) return
      await new Promise(resolve => setTimeout(resolve, until - now))
    }
  }

  async stop (): Promise<void> {
    this.ws?.close()
    const http = this.http
    if (http === undefined) return
    this.http = undefined
    const closed = new Promise<void>(resolve => http.close(() => resolve()))
    http.closeIdleConnections()
    // give clients a moment to see the close frame, then cut what is left
    const timer = setTimeout(() => { for (const s of this.sockets) s.destroy() }, 200)
    await closed
    clearTimeout(timer)
  }
}
