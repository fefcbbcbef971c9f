import type { IncomingMessage } from 'node:http'
import { networkInterfaces } from 'node:os'
import type { Logger } from '../util/logger.js'
import { ConfigError, ConfigErrorCode } from '../config/index.js'
import { hasBearerToken } from './auth.js'
import { RpcError, RpcErrorCode } from './errors.js'
import { errorResponse } from './router.js'

export interface AccessPolicyOptions {
  /** Bearer token every request needs when not empty. */
  authToken: string
  /** Origins whose pages may use the node besides its own: `https://app.example.com`, `http://localhost:*` (any port), or `*`. */
  allowedOrigins: readonly string[]
  /** Host names the Host header may carry besides the listen host (port ignored), or `*`. */
  allowedHosts: readonly string[]
  /** The address the server listens on. */
  listenHost: string
  /** The port it listens on: the node's own origin when a request has no Host header. */
  port: number
}

/** Why a request is not served, and what to answer. */
export interface AccessRefusal {
  status: 401 | 403
  code: RpcErrorCode
  /** Says which setting to change. */
  message: string
  /** The setting that would let the request in. */
  setting: string
  /** Headers of the answer (`WWW-Authenticate`, and CORS headers when the page may read the refusal). */
  headers: Record<string, string>
}

export type AccessDecision =
  | { allowed: true, /** CORS headers to add to an HTTP answer (none for a request without Origin). */ cors: Record<string, string> }
  | { allowed: false, refusal: AccessRefusal }

/** What a preflight allows a page to send. */
const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'content-type, authorization'
}

/**
 * Who may use the node, decided the same way for HTTP requests and WebSocket upgrades,
 * before anything else is read:
 *
 * - the Host header names this node (`rpc.allowed_hosts`, or the listen address), so a web
 *   page cannot reach it through a DNS name of its own (DNS rebinding);
 * - a browser page (a request with an Origin) is the node's own or in `rpc.allowed_origins`,
 *   so a site the user visits cannot drive a node on their machine;
 * - the bearer token, when `rpc.auth_token` is set.
 */
export class AccessPolicy {
  private readonly authToken: string
  private readonly anyHost: boolean
  private readonly hosts: ReadonlySet<string>
  private readonly anyOrigin: boolean
  private readonly origins: ReadonlySet<string>
  private readonly originPatterns: ReadonlyArray<{ protocol: string, hostname: string }>
  /** The node's own origin for a request without Host. */
  private readonly listenOrigin: string | undefined

  constructor (opts: AccessPolicyOptions) {
    this.authToken = opts.authToken
    this.anyHost = opts.allowedHosts.includes('*')
    this.anyOrigin = opts.allowedOrigins.includes('*')
    const listen = hostName(bracketed(opts.listenHost))
    const hosts = new Set(opts.allowedHosts.filter(h => h !== '*').map(h => {
      const name = hostName(bracketed(h))
      if (name === undefined) throw new ConfigError(ConfigErrorCode.INVALID_VALUE, `rpc.allowed_hosts: "${h}" is not a host name or address`, { key: 'rpc.allowed_hosts', value: h })
      return name
    }))
    if (listen !== undefined && !WILDCARDS.has(listen)) hosts.add(listen)
    if (listen !== undefined && WILDCARDS.has(listen)) for (const address of interfaceAddresses()) hosts.add(address)
    this.hosts = hosts
    const origins = new Set<string>()
    const patterns: Array<{ protocol: string, hostname: string }> = []
    for (const entry of opts.allowedOrigins.filter(o => o !== '*')) {
      const wildcard = /^(.+):\*$/.exec(entry)
      const url = parseOrigin(wildcard === null ? entry : wildcard[1])
      if (url === undefined) throw new ConfigError(ConfigErrorCode.INVALID_VALUE, `rpc.allowed_origins: "${entry}" is not an origin (scheme://host, scheme://host:port, scheme://host:* or *)`, { key: 'rpc.allowed_origins', value: entry })
      if (wildcard === null) origins.add(url.origin)
      else patterns.push({ protocol: url.protocol, hostname: url.hostname })
    }
    this.origins = origins
    this.originPatterns = patterns
    this.listenOrigin = listen === undefined || WILDCARDS.has(listen) ? undefined : `http://${listen}:${opts.port}`
  }

  /** Logs what opens the node wider than a browser's same-origin rule would. */
  logWarnings (logger: Logger): void {
    if (this.anyOrigin) logger.warn('rpc.allowed_origins contains "*": any web page the user visits can use this node')
    if (this.anyHost) logger.warn('rpc.allowed_hosts contains "*": any Host header is answered, so a web page can reach the node through a DNS name of its own (DNS rebinding)')
  }

  /** Whether a request (or WebSocket upgrade) is served: Host, then Origin, then the token. */
  check (req: IncomingMessage): AccessDecision {
    const refused = this.refuseHost(req) ?? this.refuseOrigin(req)
    if (refused !== undefined) return { allowed: false, refusal: refused }
    const cors = this.cors(req)
    if (!hasBearerToken(req, this.authToken)) {
      return { allowed: false, refusal: { status: 401, code: RpcErrorCode.UNAUTHORIZED, message: 'missing or wrong bearer token; send rpc.auth_token as Authorization: Bearer <token> or ?token=<token>', setting: 'rpc.auth_token', headers: { ...cors, 'WWW-Authenticate': 'Bearer' } } }
    }
    return { allowed: true, cors }
  }

  /** A CORS preflight (`OPTIONS`): the Host and the Origin are checked; a browser sends no token with it. */
  preflight (req: IncomingMessage): AccessDecision {
    const refused = this.refuseHost(req) ?? this.refuseOrigin(req)
    if (refused !== undefined) return { allowed: false, refusal: refused }
    return { allowed: true, cors: { ...this.cors(req), ...PREFLIGHT_HEADERS } }
  }

  /** Whether a Host header names this node; an absent one (HTTP/1.0) does. */
  hostAllowed (host: string | undefined): boolean {
    if (host === undefined || host === '' || this.anyHost) return true
    const name = hostName(host)
    return name !== undefined && this.hosts.has(name)
  }

  /** Whether a page of `origin` may use the node, reached through `host` (the Host header). */
  originAllowed (origin: string, host: string | undefined): boolean {
    if (this.anyOrigin) return true
    const url = parseOrigin(origin)
    if (url === undefined) return false
    if (url.origin === this.ownOrigin(host)) return true
    if (this.origins.has(url.origin)) return true
    return this.originPatterns.some(p => p.protocol === url.protocol && p.hostname === url.hostname)
  }

  private ownOrigin (host: string | undefined): string | undefined {
    if (host === undefined || host === '') return this.listenOrigin
    try {
      return new URL(`http://${host}`).origin
    } catch {
      return undefined
    }
  }

  private refuseHost (req: IncomingMessage): AccessRefusal | undefined {
    const host = req.headers.host
    if (this.hostAllowed(host)) return undefined
    const name = hostName(host!) ?? host!
    return { status: 403, code: RpcErrorCode.HOST_NOT_ALLOWED, message: `host ${printable(name)} is not allowed; add it to rpc.allowed_hosts`, setting: 'rpc.allowed_hosts', headers: {} }
  }

  private refuseOrigin (req: IncomingMessage): AccessRefusal | undefined {
    const origin = req.headers.origin
    if (origin === undefined || this.originAllowed(origin, req.headers.host)) return undefined
    const message = parseOrigin(origin) === undefined
      ? `origin ${printable(origin)} is not allowed: a page without an origin of its own (a sandboxed frame, a file) may only use the node when rpc.allowed_origins contains "*"`
      : `origin ${printable(origin)} is not allowed; add it to rpc.allowed_origins`
    return { status: 403, code: RpcErrorCode.ORIGIN_NOT_ALLOWED, message, setting: 'rpc.allowed_origins', headers: {} }
  }

  /** CORS headers for an allowed request: none without Origin, `*` only when the operator allows every origin. */
  private cors (req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin
    if (origin === undefined) return {}
    if (this.anyOrigin) return { 'Access-Control-Allow-Origin': '*' }
    return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' }
  }
}

/** The JSON-RPC error of a refusal: `data` holds the stable code, the message and the setting. */
export function refusalError (refusal: AccessRefusal): RpcError {
  return new RpcError(refusal.code, refusal.message, { setting: refusal.setting })
}

/** The body of a refused request or upgrade. */
export function refusalBody (refusal: AccessRefusal): string {
  return JSON.stringify(errorResponse(null, refusalError(refusal)))
}

/** Addresses that mean "every interface". */
const WILDCARDS: ReadonlySet<string> = new Set(['0.0.0.0', '[::]'])

/** The lowercase host name of a Host header or host entry (port dropped, IPv6 in brackets), or undefined when it is not one. */
function hostName (host: string): string | undefined {
  try {
    const url = new URL(`http://${host}`)
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[/?#@\\]/.test(host)) return undefined
    return url.hostname.replace(/\.$/, '')
  } catch {
    return undefined
  }
}

/** `::1` → `[::1]`; anything else as it is. */
function bracketed (host: string): string {
  return host.includes(':') && !host.startsWith('[') && host.indexOf(':') !== host.lastIndexOf(':') ? `[${host}]` : host
}

/** An Origin header as a URL, or undefined for `null`, a path, credentials, a `*` or a scheme without origins (file:, data:). */
function parseOrigin (origin: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@*\\\s]+$/i.test(origin)) return undefined
  try {
    const url = new URL(origin)
    return url.origin === 'null' ? undefined : url
  } catch {
    return undefined
  }
}

/** The machine's own addresses, in the form a Host header names them. */
function interfaceAddresses (): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const name = hostName(info.family === 'IPv6' ? `[${info.address}]` : info.address)
      if (name !== undefined) out.push(name)
    }
  }
  return out
}

/** A header value cut short and without control characters, for an error message. */
function printable (s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean
}
