import type { IncomingMessage } from 'node:http'
import type { Logger } from '../util/logger.js'
import type { NotificationFormat } from './connection.js'
import type { Router } from './router.js'
import { DEFAULT_ALLOWED_HOSTS, DEFAULT_ALLOWED_ORIGINS } from './access.js'

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
  /**
   * Origins whose browser pages may use the node besides its own: exact (`https://app.example.com`),
   * any port (`http://localhost:*`), or `*` for every page (logged as a warning).
   * @default ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
   */
  allowedOrigins?: readonly string[]
  /**
   * Host names the Host header may carry (port ignored) besides the listen host; on a wildcard
   * listen address the machine's own addresses are added. `*` answers any (logged as a warning).
   * @default ["localhost", "127.0.0.1", "[::1]"]
   */
  allowedHosts?: readonly string[]
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

export const defaultRpcServerAccess = {
  allowedOrigins: DEFAULT_ALLOWED_ORIGINS,
  allowedHosts: DEFAULT_ALLOWED_HOSTS
} as const

/** The options with every default filled in. */
export type ResolvedRpcServerOptions = Required<RpcServerOptions>

export function resolveRpcServerOptions (opts: RpcServerOptions): ResolvedRpcServerOptions {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as RpcServerOptions
  return { ...defaultRpcServerLimits, ...defaultRpcServerAccess, ...given }
}

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

/** Takes the request body as a stream; answers with a JSON value. */
export type UploadRoute = (body: AsyncIterable<Uint8Array>, req: IncomingMessage) => Promise<unknown>

export interface RpcServerComponents {
  router: Router
  logger: Logger
  metrics?: RpcServerMetrics
  /** Extra GET routes by path (`/health`, `/metrics`, ...). */
  routes?: Record<string, GetRoute>
  /** POST routes other than JSON-RPC on `/` (e.g. `/add` for file uploads); they read the body themselves. */
  uploads?: Record<string, UploadRoute>
}
