import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import type { Logger } from '../util/logger.js'
import type { Startable } from '../util/lifecycle.js'
import { Connection, type NotificationFormat } from './connection.js'
import { JsonRpcCode, RpcError, RpcErrorCode } from './errors.js'
import { errorResponse, type Router } from './router.js'

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
}

export interface RpcServerMetrics {
  connectionOpened(): void
  connectionClosed(): void
  clientDropped(reason: string): void
}

/** GET paths answered with a method's result, like Homestar's. */
export type GetRoute = (req: IncomingMessage) => Promise<{ status: number, contentType: string, body: string }>

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

  constructor (opts: RpcServerOptions, components: RpcServerComponents) {
    this.opts = { maxBufferedBytes: 64 * 1024 * 1024, ...opts }
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
    http.on('upgrade', (req, socket, head) => {
      if (!this.authorized(req)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
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
    const token = this.opts.authToken
    if (token === '') return true
    const header = req.headers.authorization
    let given: string | undefined
    if (typeof header === 'string' && header.startsWith('Bearer ')) given = header.slice('Bearer '.length).trim()
    else given = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined
    if (given === undefined) return false
    const a = Buffer.from(given)
    const b = Buffer.from(token)
    return a.length === b.length && timingSafeEqual(a, b)
  }

  private onWebSocket (ws: WebSocket): void {
    const { logger, metrics } = this.components
    const conn = new Connection(this.nextConnectionId++, ws, { format: this.opts.notificationFormat, maxBufferedBytes: this.opts.maxBufferedBytes }, logger, reason => metrics?.clientDropped(reason))
    this.connections.add(conn)
    metrics?.connectionOpened()
    logger.debug({ connection: conn.id }, 'websocket connected')
    // frames are handled one after another so responses keep the order of requests
    let queue = Promise.resolve()
    ws.on('message', (data: RawData, isBinary: boolean) => {
      queue = queue.then(async () => await this.onFrame(conn, data, isBinary)).catch(err => logger.warn({ err }, 'websocket frame failed'))
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
      metrics?.connectionClosed()
      logger.debug({ connection: conn.id }, 'websocket closed')
    })
  }

  private async onFrame (conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
    const text = rawToString(data)
    const response = await this.dispatch(text, isBinary ? 'binary frames are not accepted' : undefined, { transport: 'ws', connection: conn, raw: text })
    if (response !== null) conn.send(response)
    conn.flushPending()
  }

  /** Parses and routes one message; returns the response text or null when nothing is owed. */
  private async dispatch (text: string, refusal: string | undefined, ctx: Parameters<Router['handle']>[1]): Promise<string | null> {
    if (refusal !== undefined) return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.INVALID_REQUEST, refusal)))
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch (err) {
      return JSON.stringify({ jsonrpc: '2.0', error: { code: JsonRpcCode.PARSE_ERROR, message: 'Parse error', data: { code: RpcErrorCode.PARSE, message: (err as Error).message } }, id: null })
    }
    const response = await this.components.router.handle(message, ctx)
    return response === null ? null : JSON.stringify(response)
  }

  private async onHttp (req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', '*')
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS', 'Access-Control-Allow-Headers': 'content-type, authorization' }).end()
      return
    }
    if (!this.authorized(req)) {
      reply(res, 401, JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.UNAUTHORIZED, 'missing or wrong bearer token'))))
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
        reply(res, out.status, out.body, out.contentType)
      } catch (err) {
        reply(res, 500, JSON.stringify(errorResponse(null, err)))
      }
      return
    }
    const upload = req.method === 'POST' ? this.components.uploads?.[path] : undefined
    if (upload !== undefined) {
      try {
        reply(res, 200, JSON.stringify(await upload(req, req)))
      } catch (err) {
        reply(res, 400, JSON.stringify(errorResponse(null, err)))
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
    const chunks: Buffer[] = []
    let size = 0
    let refused = false
    req.on('data', (chunk: Buffer) => {
      if (refused) return
      size += chunk.length
      if (size > this.opts.maxFrameBytes) {
        refused = true
        chunks.length = 0
        reply(res, 413, JSON.stringify(errorResponse(null, tooLarge(size, this.opts.maxFrameBytes))), 'application/json', true)
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (refused) return
      const text = Buffer.concat(chunks).toString('utf8')
      void this.dispatch(text, undefined, { transport: 'http', raw: text }).then(body => {
        if (body === null) res.writeHead(204).end()
        else reply(res, 200, body)
      }, err => reply(res, 500, JSON.stringify(errorResponse(null, err))))
    })
  }
}

function tooLarge (size: number, limit: number): RpcError {
  return new RpcError(RpcErrorCode.FRAME_TOO_LARGE, `request of ${size} bytes exceeds max_frame_bytes (${limit})`, { limit })
}

function reply (res: ServerResponse, status: number, body: string, contentType = 'application/json', close = false): void {
  if (res.headersSent) return
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...(close ? { Connection: 'close' } : {}) })
  res.end(body)
}

function rawToString (data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
