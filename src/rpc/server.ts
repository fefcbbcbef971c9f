import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import type { Logger } from '../util/logger.js'
import type { Startable } from '../util/lifecycle.js'
import { capped } from '../util/bytes.js'
import { Connection, type NotificationFormat } from './connection.js'
import { JsonRpcCode, RpcError, RpcErrorCode } from './errors.js'
import { errorResponse, type Router } from './router.js'
import { hasBearerToken } from './auth.js'
import { jsonNestingExceeds, TokenBucket } from './limits.js'

export interface RpcServerOptions {
  /** @default "127.0.0.1" */
  host: string
  /** 0 picks a free port; read `port` after start. @default 1337 */
  port: number
  /** Largest WebSocket frame or HTTP body. @default 8388608 */
  maxFrameBytes: number
  /** @default "json" */
  notificationFormat: NotificationFormat
  /** Bearer token required on every request when not empty. @default "" */
  authToken: string
  /** A client with more unsent bytes than this is disconnected. @default 67108864 */
  maxBufferedBytes?: number
  /** Deepest nesting of arrays and objects in a message. @default 64 */
  maxJsonDepth?: number
  /** WebSocket clients connected at once; more are refused with HTTP 503. @default 1024 */
  maxConnections?: number
  /** Subscriptions open at once on one WebSocket. @default 256 */
  maxSubscriptionsPerConnection?: number
  /** Requests per second on one connection (WebSocket, or HTTP keep-alive socket); 0 for no limit. @default 200 */
  maxRequestsPerSecond?: number
  /** Requests a connection may send at once before the rate applies. @default 200 */
  requestBurst?: number
  /** Largest body of an upload route (`POST /add`). @default 1073741824 (1 GiB) */
  maxUploadBytes?: number
}

export const defaultRpcServerLimits = {
  maxBufferedBytes: 64 * 1024 * 1024,
  maxJsonDepth: 64,
  maxConnections: 1024,
  maxSubscriptionsPerConnection: 256,
  maxRequestsPerSecond: 200,
  requestBurst: 200,
  maxUploadBytes: 1024 * 1024 * 1024
} as const

/** Open connections are read from `connectionCount`; what the server reports as it happens: */
export interface RpcServerMetrics {
  clientDropped(reason: string): void
}

/** GET paths answered with a method's result, like Homestar's, or with a file. */
export type GetRoute = (req: IncomingMessage) => Promise<GetRouteResponse>

export interface GetRouteResponse {
  status: number
  contentType: string
  body: string
  /** Extra response headers (caching, content security policy, ...). */
  headers?: Record<string, string>
}

export interface RpcServerComponents {
  router: Router
  logger: Logger
  metrics?: RpcServerMetrics
  /** Extra GET routes by path (`/health`, `/metrics`, ...). */
  routes?: Record<string, GetRoute>
  /** POST routes other than JSON-RPC on `/` (e.g. `/add` for file uploads); they read the body themselves. */
  uploads?: Record<string, UploadRoute>
}

/** Takes the request body as a stream; answers with a JSON value. */
export type UploadRoute = (body: AsyncIterable<Uint8Array>, req: IncomingMessage) => Promise<unknown>

/**
 * JSON-RPC 2.0 over WebSocket and HTTP POST on one port. It only frames messages: parsing,
 * size limits, auth and connections; the router does the rest.
 */
export class RpcServer implements Startable {
  private readonly opts: Required<RpcServerOptions>
  private readonly components: RpcServerComponents
  private http?: Server
  private wss?: WebSocketServer
  private readonly connections = new Set<Connection>()
  private readonly sockets = new Set<Socket>()
  private nextConnectionId = 1
  private boundPort = 0
  /** The request budget of each HTTP keep-alive socket. */
  private readonly httpRates = new WeakMap<Socket, TokenBucket>()

  constructor (opts: RpcServerOptions, components: RpcServerComponents) {
    this.opts = { ...defaultRpcServerLimits, ...withoutUndefined(opts) }
    this.components = components
  }

  get port (): number {
    return this.boundPort
  }

  get address (): string {
    return `${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.boundPort}`
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

  async start (): Promise<void> {
    const http = createServer((req, res) => { void this.onHttp(req, res) })
    http.on('connection', (socket: Socket) => {
      socket.setNoDelay(true)
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxFrameBytes, perMessageDeflate: false })
    http.on('upgrade', (req, socket: Socket, head) => {
      if (!this.authorized(req)) {
        refuseUpgrade(socket, 401, 'Unauthorized', new RpcError(RpcErrorCode.UNAUTHORIZED, 'missing or wrong bearer token'))
        return
      }
      if (!sameOrigin(req)) {
        this.components.metrics?.clientDropped('cross_origin')
        refuseUpgrade(socket, 403, 'Forbidden', new RpcError(RpcErrorCode.UNAUTHORIZED, 'a page of another origin may not connect; open the node\'s own page, or use a client that is not a browser'))
        return
      }
      // handleUpgrade adds the connection synchronously, so this count is exact
      if (this.connections.size >= this.opts.maxConnections) {
        this.components.metrics?.clientDropped('connection_limit')
        this.components.logger.debug({ limit: this.opts.maxConnections }, 'websocket refused: rpc.max_connections reached')
        refuseUpgrade(socket, 503, 'Service Unavailable', new RpcError(RpcErrorCode.CONNECTION_LIMIT, `${this.connections.size} clients are connected, the most rpc.max_connections allows; try again later`, { limit: this.opts.maxConnections }))
        return
      }
      wss.handleUpgrade(req, socket, head, ws => this.onWebSocket(ws))
    })
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(this.opts.port, this.opts.host, () => {
        http.off('error', reject)
        resolve()
      })
    })
    this.http = http
    this.wss = wss
    this.boundPort = (http.address() as AddressInfo).port
  }

  async stop (): Promise<void> {
    for (const conn of this.connections) conn.close()
    for (const ws of this.wss?.clients ?? []) ws.close(1001, 'node stopping')
    this.wss?.close()
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

  private authorized (req: IncomingMessage): boolean {
    return hasBearerToken(req, this.opts.authToken)
  }

  private newRate (): TokenBucket {
    return new TokenBucket({ ratePerSecond: this.opts.maxRequestsPerSecond, burst: this.opts.requestBurst })
  }

  private onWebSocket (ws: WebSocket): void {
    const { logger, metrics } = this.components
    const conn = new Connection(this.nextConnectionId++, ws, {
      format: this.opts.notificationFormat,
      maxBufferedBytes: this.opts.maxBufferedBytes,
      maxSubscriptions: this.opts.maxSubscriptionsPerConnection
    }, logger, reason => metrics?.clientDropped(reason))
    const rate = this.newRate()
    this.connections.add(conn)
    logger.debug({ connection: conn.id }, 'websocket connected')
    // frames are handled one after another so responses keep the order of requests; a client
    // that sends faster than that is not read from until the backlog is worked off
    let queue = Promise.resolve()
    let backlogBytes = 0
    let backlogFrames = 0
    const overBacklog = (share: number): boolean => backlogBytes > this.opts.maxFrameBytes * share || backlogFrames > MAX_BACKLOG_FRAMES * share
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const size = rawLength(data)
      backlogBytes += size
      backlogFrames++
      if (overBacklog(1) && !ws.isPaused) ws.pause()
      queue = queue.then(async () => await this.onFrame(conn, rate, data, isBinary))
        .catch(err => logger.warn({ err }, 'websocket frame failed'))
        .finally(() => {
          backlogBytes -= size
          backlogFrames--
          if (ws.isPaused && !overBacklog(0.5)) ws.resume()
        })
    })
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        metrics?.clientDropped('frame_too_large')
        logger.debug({ connection: conn.id }, 'frame over max_frame_bytes refused')
      } else {
        logger.debug({ connection: conn.id, err }, 'websocket error')
      }
    })
    ws.on('close', () => {
      this.connections.delete(conn)
      conn.close()
      logger.debug({ connection: conn.id }, 'websocket closed')
    })
  }

  private async onFrame (conn: Connection, rate: TokenBucket, data: RawData, isBinary: boolean): Promise<void> {
    const text = rawToString(data)
    const response = await this.dispatch(text, isBinary ? 'binary frames are not accepted' : undefined, { transport: 'ws', connection: conn, raw: text, rate })
    if (response !== null) conn.send(response)
    conn.flushPending()
  }

  /** Parses and routes one message; returns the response text or null when nothing is owed. */
  private async dispatch (text: string, refusal: string | undefined, ctx: Parameters<Router['handle']>[1]): Promise<string | null> {
    if (refusal !== undefined) return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.INVALID_REQUEST, refusal)))
    // checked before parsing: nothing downstream ever walks a deeper value
    if (jsonNestingExceeds(text, this.opts.maxJsonDepth)) {
      ctx.rate?.take()
      return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.JSON_TOO_DEEP, `the message nests arrays and objects deeper than rpc.max_json_depth (${this.opts.maxJsonDepth})`, { limit: this.opts.maxJsonDepth })))
    }
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch (err) {
      ctx.rate?.take()
      return JSON.stringify({ jsonrpc: '2.0', error: { code: JsonRpcCode.PARSE_ERROR, message: 'Parse error', data: { code: RpcErrorCode.PARSE, message: (err as Error).message } }, id: null })
    }
    let response: Awaited<ReturnType<Router['handle']>>
    try {
      response = await this.components.router.handle(message, ctx)
    } catch (err) {
      // the router answers every request itself; this is the last line of defence
      this.components.logger.warn({ err }, 'routing a message failed')
      response = errorResponse(null, err)
    }
    return response === null ? null : JSON.stringify(response)
  }

  private async onHttp (req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', '*')
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': 'content-type, authorization' }).end()
      return
    }
    if (!this.authorized(req)) {
      reply(res, 401, JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.UNAUTHORIZED, 'missing or wrong bearer token'))), 'application/json', false, { 'WWW-Authenticate': 'Bearer' })
      return
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method === 'GET') {
      const route = this.components.routes?.[path]
      if (route === undefined) {
        reply(res, 404, JSON.stringify({ error: 'not found', path }))
        return
      }
      try {
        const out = await route(req)
        reply(res, out.status, out.body, out.contentType, false, out.headers)
      } catch (err) {
        reply(res, 500, JSON.stringify(errorResponse(null, err)))
      }
      return
    }
    const upload = req.method === 'POST' ? this.components.uploads?.[path] : undefined
    if (upload !== undefined) {
      const limit = this.opts.maxUploadBytes
      try {
        reply(res, 200, JSON.stringify(await upload(capped(req, limit, () => new OverLimit(new RpcError(RpcErrorCode.UPLOAD_TOO_LARGE, `upload exceeds rpc.max_upload_bytes (${limit})`, { limit }))), req)))
      } catch (err) {
        if (err instanceof OverLimit) refuseOversized(req, res, err.error)
        else reply(res, 400, JSON.stringify(errorResponse(null, err)))
      }
      return
    }
    if (req.method !== 'POST' || path !== '/') {
      res.setHeader('Allow', 'GET, POST, OPTIONS')
      reply(res, 405, JSON.stringify({ error: 'method not allowed: POST JSON-RPC to /, or GET a known path' }))
      return
    }
    const declared = Number(req.headers['content-length'] ?? '0')
    if (declared > this.opts.maxFrameBytes) {
      req.resume()
      reply(res, 413, JSON.stringify(errorResponse(null, tooLarge(declared, this.opts.maxFrameBytes))), 'application/json', true)
      return
    }
    const chunks: Uint8Array[] = []
    try {
      for await (const chunk of capped(req, this.opts.maxFrameBytes, size => new OverLimit(tooLarge(size, this.opts.maxFrameBytes)))) chunks.push(chunk)
    } catch (err) {
      if (err instanceof OverLimit) refuseOversized(req, res, err.error)
      return // otherwise the client went away mid-body
    }
    const text = Buffer.concat(chunks).toString('utf8')
    let rate = this.httpRates.get(req.socket)
    if (rate === undefined) {
      rate = this.newRate()
      this.httpRates.set(req.socket, rate)
    }
    void this.dispatch(text, undefined, { transport: 'http', raw: text, rate }).then(body => {
      if (body === null) res.writeHead(204).end()
      else reply(res, 200, body)
    }, err => reply(res, 500, JSON.stringify(errorResponse(null, err))))
  }
}

/**
 * A browser page of another origin must not drive the node (a site the user visits could
 * otherwise run workflows on a node on their machine); clients that are not browsers send no
 * Origin. The dashboard is served by the node, so it is same-origin.
 */
function sameOrigin (req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined || origin === '') return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

/** A request body that passed its size limit; `error` is what the client is told. */
class OverLimit extends Error {
  constructor (readonly error: RpcError) {
    super(error.message)
  }
}

/** Answers 413 with the error and closes the connection: the rest of the body is not read. */
function refuseOversized (req: IncomingMessage, res: ServerResponse, err: RpcError): void {
  reply(res, 413, JSON.stringify(errorResponse(null, err)), 'application/json', true)
  req.destroy()
}

/** Answers a WebSocket upgrade with an HTTP error and a JSON-RPC error body, then closes. */
function refuseUpgrade (socket: Socket, status: number, reason: string, err: RpcError): void {
  const body = JSON.stringify(errorResponse(null, err))
  socket.on('error', () => {})
  const auth = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${auth}Connection: close\r\n\r\n${body}`)
}

function withoutUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

function tooLarge (size: number, limit: number): RpcError {
  return new RpcError(RpcErrorCode.FRAME_TOO_LARGE, `request of ${size} bytes exceeds max_frame_bytes (${limit})`, { limit })
}

function reply (res: ServerResponse, status: number, body: string, contentType = 'application/json', close = false, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  if (status === 304) {
    res.writeHead(304, headers).end()
    return
  }
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...(close ? { Connection: 'close' } : {}) })
  res.end(body)
}

/** Frames read ahead of the one being handled before a connection stops being read. */
const MAX_BACKLOG_FRAMES = 256

function rawLength (data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0)
  return data.byteLength
}

function rawToString (data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
