import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import type { Logger } from '../../util/logger.js'
import { Connection } from '../connection.js'
import { RpcError, RpcErrorCode } from '../errors.js'
import { errorResponse } from '../router.js'
import { refusalBody, type AccessPolicy } from '../access.js'
import type { ClientBudgets } from '../clients.js'
import type { OutgoingBudget } from '../buffers.js'
import type { RpcMetrics } from '../../metrics/index.js'
import type { ResolvedRpcServerOptions } from '../options.js'
import { invalidRequest, type Dispatch } from './common.js'
import { isThenable } from '../../util/maybe.js'

export interface WebSocketTransportComponents {
  policy: AccessPolicy
  dispatch: Dispatch
  logger: Logger
  metrics?: RpcMetrics
  /** Request budgets by client, shared with HTTP. */
  budgets: ClientBudgets
  /** The memory budget of unsent bytes across all sockets. */
  outgoing?: OutgoingBudget
}

/** Frames read ahead of the one being handled before a connection stops being read. */
const MAX_BACKLOG_FRAMES = 256
/** Longest a client with no request token left goes unread before its next frame is taken (and refused if it still has none). */
const MAX_LIMITED_WAIT_MS = 1000

/**
 * JSON-RPC over WebSocket: takes upgrades the access policy allows (up to
 * rpc.max_connections), and serves each socket as one `Connection`, frame after frame: one
 * frame of a connection is handled at a time (its responses keep the order of its
 * requests), while the connections' frames, and the requests of a batch, take turns on the
 * event loop. Frames read ahead wait in a backlog, bounded per connection (one frame's
 * worth) and across connections (`rpc.max_total_buffered_bytes`): past either, a
 * connection is not read from until its backlog, or the total, is worked off.
 */
export class WebSocketTransport {
  private readonly opts: ResolvedRpcServerOptions
  private readonly components: WebSocketTransportComponents
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  private nextConnectionId = 1
  /** Bytes of frames read and not yet handled, across connections. */
  private backlogTotal = 0
  /** Connections paused because of `backlogTotal`, to resume once it has come down. */
  private readonly pausedForTotal = new Set<WebSocket>()

  constructor (opts: ResolvedRpcServerOptions, components: WebSocketTransportComponents) {
    this.opts = opts
    this.components = components
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false })
  }

  get connectionCount (): number {
    return this.connections.size
  }

  /** Open subscriptions by method. */
  subscriptionCounts (): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const conn of this.connections) {
      for (const sub of conn.subscriptions.values()) counts[sub.method] = (counts[sub.method] ?? 0) + 1
    }
    return counts
  }

  /** The HTTP server's `upgrade` event. */
  upgrade (req: IncomingMessage, socket: Socket, head: Buffer): void {
    const { policy, metrics, logger } = this.components
    const access = policy.check(req)
    if (!access.allowed) {
      const { refusal } = access
      if (refusal.code === RpcErrorCode.ORIGIN_NOT_ALLOWED) metrics?.droppedClients.inc({ reason: 'cross_origin' })
      if (refusal.code === RpcErrorCode.HOST_NOT_ALLOWED) metrics?.droppedClients.inc({ reason: 'host_not_allowed' })
      refuseUpgrade(socket, refusal.status, refusalBody(refusal), refusal.headers)
      return
    }
    // handleUpgrade adds the connection synchronously, so this count is exact
    if (this.connections.size >= this.opts.maxConnections) {
      metrics?.droppedClients.inc({ reason: 'connection_limit' })
      logger.debug({ limit: this.opts.maxConnections }, 'websocket refused: rpc.max_connections reached')
      const err = new RpcError(RpcErrorCode.CONNECTION_LIMIT, `${this.connections.size} clients are connected, the most rpc.max_connections allows; try again later`, { limit: this.opts.maxConnections })
      refuseUpgrade(socket, 503, JSON.stringify(errorResponse(null, err)))
      return
    }
    this.wss.handleUpgrade(req, socket, head, ws => this.onWebSocket(ws, req))
  }

  /** Closes every connection, telling clients the node is going away. */
  close (): void {
    for (const conn of this.connections) conn.close()
    for (const ws of this.wss.clients) ws.close(1001, 'node stopping')
    this.wss.close()
  }

  private onWebSocket (ws: WebSocket, req: IncomingMessage): void {
    const { logger, metrics, outgoing } = this.components
    const conn = new Connection(this.nextConnectionId++, ws, {
      defaultFormat: this.opts.notificationFormat,
      maxBufferedBytes: this.opts.maxBufferedBytes,
      maxSubscriptions: this.opts.maxSubscriptionsPerConnection,
      socket: req.socket,
      ...(outgoing !== undefined ? { onSent: (bytes: number) => outgoing.charge(bytes) } : {})
    }, logger, reason => metrics?.droppedClients.inc({ reason }))
    const rate = this.components.budgets.forAddress(req.socket.remoteAddress)
    this.connections.add(conn)
    logger.debug({ connection: conn.id }, 'websocket connected')
    // frames are handled one after another so responses keep the order of requests; a client
    // that sends faster than that is not read from until the backlog is worked off
    const backlog: Array<{ data: RawData, isBinary: boolean, size: number }> = []
    let backlogBytes = 0
    let working = false
    let refusalsSeen = rate.refusals
    const overBacklog = (share: number): boolean => backlogBytes > this.opts.maxFrameBytes * share || backlog.length > MAX_BACKLOG_FRAMES * share
    const totalLimit = this.opts.maxTotalBufferedBytes
    // one loop per burst of frames (not a chain of promises per frame)
    const work = async (): Promise<void> => {
      working = true
      while (backlog.length > 0) {
        const frame = backlog[0]
        try {
          const answer = frame.isBinary
            ? invalidRequest('binary frames are not accepted')
            : this.components.dispatch(rawToString(frame.data), { transport: 'ws', connection: conn, rate })
          // a request answered at once is sent at once, without a turn of the microtask queue
          const response = isThenable<string | null>(answer) ? await answer : answer
          if (response !== null) conn.send(response)
          conn.flushPending()
        } catch (err) {
          logger.warn({ err }, 'websocket frame failed')
        }
        backlog.shift()
        backlogBytes -= frame.size
        this.backlogTotal -= frame.size
        if (this.backlogTotal <= totalLimit / 2) this.resumeAll()
        // a client with no request token left is not read from until one is back, and one
        // that was refused until its budget is full again (a second at most): what it sends
        // past its budget waits in its own buffers instead of costing the node a read, a scan
        // and a refusal per request
        const refused = rate.refusals > refusalsSeen
        refusalsSeen = rate.refusals
        const wait = refused ? rate.fullMs() : rate.waitMs()
        if (wait > 0 && ws.readyState === ws.OPEN) {
          if (!ws.isPaused) ws.pause()
          // a timer counts from the event loop's time, taken before this turn's work: on a busy
          // machine it fires early, and the budget would be read a token short of what was waited for
          const until = performance.now() + Math.min(wait, MAX_LIMITED_WAIT_MS)
          for (let left = until - performance.now(); left > 0 && ws.readyState === ws.OPEN; left = until - performance.now()) await sleep(Math.ceil(left))
        }
        if (ws.isPaused && !this.pausedForTotal.has(ws) && !overBacklog(0.5)) ws.resume()
      }
      working = false
    }
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const size = rawLength(data)
      backlog.push({ data, isBinary, size })
      backlogBytes += size
      this.backlogTotal += size
      if (!ws.isPaused) {
        if (overBacklog(1)) {
          ws.pause()
        } else if (this.backlogTotal > totalLimit) {
          ws.pause()
          this.pausedForTotal.add(ws)
        }
      }
      if (!working) void work()
    })
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        metrics?.droppedClients.inc({ reason: 'frame_too_large' })
        logger.debug({ connection: conn.id }, 'frame over max_frame_bytes refused')
      } else {
        logger.debug({ connection: conn.id, err }, 'websocket error')
      }
    })
    ws.on('close', () => {
      this.connections.delete(conn)
      this.pausedForTotal.delete(ws)
      conn.close()
      logger.debug({ connection: conn.id }, 'websocket closed')
    })
  }

  /** Resumes the connections paused because frames across all of them were over the budget. */
  private resumeAll (): void {
    if (this.pausedForTotal.size === 0) return
    for (const ws of this.pausedForTotal) ws.resume()
    this.pausedForTotal.clear()
  }

}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }

/** Answers a WebSocket upgrade with an HTTP error and a JSON-RPC error body, then closes. */
function refuseUpgrade (socket: Socket, status: number, body: string, headers: Record<string, string> = {}): void {
  socket.on('error', () => {})
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`)
}

function rawLength (data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0)
  return data.byteLength
}

function rawToString (data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
