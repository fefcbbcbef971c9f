import type { IncomingMessage, ServerResponse } from 'node:http'
import { capped } from '../../util/bytes.js'
import { JsonRpcCode, RpcError, RpcErrorCode, toJsonRpcError, type JsonRpcErrorObject } from '../errors.js'
import { errorResponse } from '../router.js'
import { refusalBody, type AccessPolicy, type AccessRefusal } from '../access.js'
import type { ClientBudgets } from '../clients.js'
import type { OutgoingBudget } from '../buffers.js'
import type { GetRoute, ResolvedRpcServerOptions, UploadRoute } from '../options.js'
import { reply, type Dispatch } from './common.js'

export interface HttpTransportComponents {
  policy: AccessPolicy
  dispatch: Dispatch
  /** Request budgets by client, shared with WebSocket connections. */
  budgets: ClientBudgets
  /** The memory budget of unsent bytes across all sockets. */
  outgoing?: OutgoingBudget
  /** Extra GET routes by path. */
  routes?: Record<string, GetRoute>
  /** POST routes other than JSON-RPC on `/`. */
  uploads?: Record<string, UploadRoute>
}

/**
 * JSON-RPC over HTTP POST on `/`, the GET routes, the upload routes and CORS preflights.
 * The access policy decides first; 404, 405, 413 and 429 are answered here. Every request
 * takes from its client's request budget (a JSON-RPC batch, one token per request).
 */
export class HttpTransport {
  private readonly opts: ResolvedRpcServerOptions
  private readonly components: HttpTransportComponents

  constructor (opts: ResolvedRpcServerOptions, components: HttpTransportComponents) {
    this.opts = opts
    this.components = components
  }

  async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { policy } = this.components
    if (req.method === 'OPTIONS') {
      const access = policy.preflight(req)
      if (access.allowed) res.writeHead(204, access.cors).end()
      else refuse(res, access.refusal)
      return
    }
    const access = policy.check(req)
    if (!access.allowed) {
      refuse(res, access.refusal)
      return
    }
    for (const [name, value] of Object.entries(access.cors)) res.setHeader(name, value)
    // JSON-RPC posts go to `/`, which needs no parsing
    const path = req.url === '/' ? '/' : new URL(req.url ?? '/', 'http://localhost').pathname
    const rate = this.components.budgets.forAddress(req.socket.remoteAddress)
    const upload = req.method === 'POST' ? this.components.uploads?.[path] : undefined
    if ((req.method === 'GET' || upload !== undefined) && !rate.take()) {
      const err = new RpcError(RpcErrorCode.RATE_LIMITED, `more than rpc.max_requests_per_second (${rate.rate}, burst ${rate.burst}) from this client; retry later`, { limit: rate.rate, burst: rate.burst, retry_after_ms: rate.waitMs() })
      // an upload's body is not read: the connection closes after the answer
      reply(res, 429, JSON.stringify(errorResponse(null, err)), 'application/json', upload !== undefined, { 'Retry-After': String(Math.max(1, Math.ceil(rate.waitMs() / 1000))) })
      if (upload !== undefined) req.destroy()
      return
    }
    if (req.method === 'GET') {
      await this.get(req, res, path)
      return
    }
    if (upload !== undefined) {
      await this.upload(req, res, upload)
      return
    }
    if (req.method !== 'POST' || path !== '/') {
      res.setHeader('Allow', 'GET, POST, OPTIONS')
      reply(res, 405, JSON.stringify({ error: 'method not allowed: POST JSON-RPC to /, or GET a known path' }))
      return
    }
    await this.post(req, res)
  }

  private async get (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = this.components.routes?.[path]
    if (route === undefined) {
      reply(res, 404, JSON.stringify({ error: 'not found', path }))
      return
    }
    try {
      const out = await route(req)
      reply(res, out.status, out.body, out.contentType, false, out.headers)
      this.components.outgoing?.charge(out.body.length)
    } catch (err) {
      reply(res, 500, JSON.stringify(errorResponse(null, err)))
    }
  }

  private async upload (req: IncomingMessage, res: ServerResponse, upload: UploadRoute): Promise<void> {
    const limit = Math.min(upload.maxBytes ?? Infinity, this.opts.maxUploadBytes)
    const what = limit === this.opts.maxUploadBytes ? `rpc.max_upload_bytes (${limit})` : `the ${limit} bytes this route takes`
    try {
      const body = JSON.stringify(await upload(capped(req, limit, () => new OverLimit(new RpcError(RpcErrorCode.UPLOAD_TOO_LARGE, `upload exceeds ${what}`, { limit }))), req))
      reply(res, 200, body)
      this.components.outgoing?.charge(body.length)
    } catch (err) {
      if (err instanceof OverLimit) {
        refuseOversized(req, res, err.error)
      } else {
        const status = uploadStatus(toJsonRpcError(err))
        reply(res, status, JSON.stringify(errorResponse(null, err)), 'application/json', status === 413)
        if (status === 413) req.resume()
      }
    }
  }

  /** JSON-RPC on `/`: one message or batch per body. */
  private async post (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const limit = this.opts.maxFrameBytes
    const declared = Number(req.headers['content-length'] ?? '0')
    if (declared > limit) {
      req.resume()
      reply(res, 413, JSON.stringify(errorResponse(null, tooLarge(declared, limit))), 'application/json', true)
      return
    }
    const chunks: Uint8Array[] = []
    try {
      for await (const chunk of capped(req, limit, size => new OverLimit(tooLarge(size, limit)))) chunks.push(chunk)
    } catch (err) {
      if (err instanceof OverLimit) refuseOversized(req, res, err.error)
      return // otherwise the client went away mid-body
    }
    const text = Buffer.concat(chunks).toString('utf8')
    const rate = this.components.budgets.forAddress(req.socket.remoteAddress)
    // a throw or a rejection alike becomes the 500 below
    const answered = (async () => await this.components.dispatch(text, { transport: 'http', rate }))()
    void answered.then(body => {
      if (body === null) {
        res.writeHead(204).end()
        return
      }
      reply(res, 200, body)
      this.components.outgoing?.charge(body.length)
    }, err => reply(res, 500, JSON.stringify(errorResponse(null, err))))
  }
}

/** Answers a request the access policy refused; the body is not read, so the connection closes. */
function refuse (res: ServerResponse, refusal: AccessRefusal): void {
  reply(res, refusal.status, refusalBody(refusal), 'application/json', true, refusal.headers)
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

function tooLarge (size: number, limit: number): RpcError {
  return new RpcError(RpcErrorCode.FRAME_TOO_LARGE, `request of ${size} bytes exceeds max_frame_bytes (${limit})`, { limit })
}

/**
 * The HTTP status of a failed upload: a limit the route applies itself (a plan's task count) is
 * 413 like the body limit, a full disk 507, the node's own failure 500, the client's input 400.
 */
function uploadStatus (error: JsonRpcErrorObject): number {
  if (error.code === JsonRpcCode.LIMIT_EXCEEDED) return 413
  if (error.code !== JsonRpcCode.INTERNAL_ERROR) return 400
  const code = (error.data as { code?: unknown } | undefined)?.code
  return code === 'STORE_NO_SPACE' ? 507 : 500
}
