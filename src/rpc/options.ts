import type { IncomingMessage } from 'node:http'
import type { Logger } from '../util/logger.js'
import type { RpcMetrics } from '../metrics/index.js'
import type { NotificationFormat } from './connection.js'
import type { Router } from './router.js'
import { defaultConfig, type IpvmConfig } from '../config/index.js'
import { withDefaults } from '../util/options.js'

export interface RpcServerOptions {
  /** @default "127.0.0.1" (`rpc.host`) */
  host: string
  /** 0 picks a free port; read `port` after start. @default 1337 (`rpc.port`) */
  port: number
  /** Largest WebSocket frame or HTTP body. @default 8388608 (`rpc.max_frame_bytes`) */
  maxFrameBytes: number
  /** Framing of the notifications of a subscription that asks for none. @default "bytes" (`rpc.notification_format`) */
  notificationFormat: NotificationFormat
  /** Bearer token required on every request when not empty. @default "" (`rpc.auth_token`) */
  authToken: string
  /** A client with more unsent bytes than this is disconnected. @default 67108864 (`rpc.max_buffered_bytes`) */
  maxBufferedBytes: number
  /** Deepest nesting of arrays and objects in a message. @default 64 (`rpc.max_json_depth`) */
  maxJsonDepth: number
  /** WebSocket clients connected at once; more are refused with HTTP 503. @default 1024 (`rpc.max_connections`) */
  maxConnections: number
  /** Subscriptions open at once on one WebSocket. @default 256 (`rpc.max_subscriptions_per_connection`) */
  maxSubscriptionsPerConnection: number
  /**
   * Requests per second from one client, all its WebSocket connections and HTTP requests
   * together (one IPv4 address, or one IPv6 /64); 0 for no limit. @default 200 (`rpc.max_requests_per_second`)
   */
  maxRequestsPerSecond: number
  /** Requests a client may send at once before the rate applies. @default 200 (`rpc.request_burst`) */
  requestBurst: number
  /**
   * Unsent bytes across every client; past it the clients furthest behind are disconnected
   * first. Frames read but not yet handled are held to the same amount.
   * @default 268435456 (256 MiB, `rpc.max_total_buffered_bytes`)
   */
  maxTotalBufferedBytes: number
  /** Largest body of an upload route (`POST /add`). @default 1073741824 (1 GiB, `rpc.max_upload_bytes`) */
  maxUploadBytes: number
  /**
   * Origins whose browser pages may use the node besides its own: exact (`https://app.example.com`),
   * any port (`http://localhost:*`), or `*` for every page (logged as a warning).
   * @default ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"] (`rpc.allowed_origins`)
   */
  allowedOrigins: readonly string[]
  /**
   * Host names the Host header may carry (port ignored) besides the listen host; on a wildcard
   * listen address the machine's own addresses are added. `*` answers any (logged as a warning).
   * @default ["localhost", "127.0.0.1", "[::1]"] (`rpc.allowed_hosts`)
   */
  allowedHosts: readonly string[]
}

/** The server's options from the `[rpc]` settings. */
export function rpcServerOptions (config: IpvmConfig['rpc']): RpcServerOptions {
  return {
    host: config.host,
    port: config.port,
    maxFrameBytes: config.max_frame_bytes,
    notificationFormat: config.notification_format,
    authToken: config.auth_token,
    maxBufferedBytes: config.max_buffered_bytes,
    maxJsonDepth: config.max_json_depth,
    maxConnections: config.max_connections,
    maxSubscriptionsPerConnection: config.max_subscriptions_per_connection,
    maxRequestsPerSecond: config.max_requests_per_second,
    requestBurst: config.request_burst,
    maxTotalBufferedBytes: config.max_total_buffered_bytes,
    maxUploadBytes: config.max_upload_bytes,
    allowedOrigins: config.allowed_origins,
    allowedHosts: config.allowed_hosts
  }
}

export const defaultRpcServerOptions: RpcServerOptions = rpcServerOptions(defaultConfig.rpc)

/** The options with every default filled in. */
export type ResolvedRpcServerOptions = RpcServerOptions

export function resolveRpcServerOptions (opts: Partial<RpcServerOptions>): ResolvedRpcServerOptions {
  return withDefaults(defaultRpcServerOptions, opts)
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

/**
 * Takes the request body as a stream; answers with a JSON value. The body is cut off with
 * 413 past `maxBytes` (default: `rpc.max_upload_bytes`).
 */
export interface UploadRoute {
  (body: AsyncIterable<Uint8Array>, req: IncomingMessage): Promise<unknown>
  /** Largest body this route takes, when smaller than `rpc.max_upload_bytes`. */
  maxBytes?: number
}

export interface RpcServerComponents {
  router: Router
  logger: Logger
  metrics?: RpcMetrics
  /** Extra GET routes by path (`/health`, `/metrics`, ...). */
  routes?: Record<string, GetRoute>
  /** POST routes other than JSON-RPC on `/` (e.g. `/add` for file uploads); they read the body themselves. */
  uploads?: Record<string, UploadRoute>
}
