import type { ServerResponse } from 'node:http'
import type { Logger } from '../../util/logger.js'
import { JsonRpcCode, RpcError, RpcErrorCode } from '../errors.js'
import { errorResponse, type Router } from '../router.js'
import type { RequestContext } from '../context.js'
import { jsonNestingExceeds, TokenBucket } from '../limits.js'
import type { ResolvedRpcServerOptions } from '../options.js'

/** Parses and routes one message; resolves with the response text, or null when nothing is owed. */
export type Dispatch = (text: string, ctx: RequestContext) => Promise<string | null>

/** The one way a message becomes a response, whichever transport it came in on. */
export function createDispatch (router: Router, logger: Logger, maxJsonDepth: number): Dispatch {
  return async (text, ctx) => {
    // checked before parsing: nothing downstream ever walks a deeper value
    if (jsonNestingExceeds(text, maxJsonDepth)) {
      ctx.rate?.take()
      return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.JSON_TOO_DEEP, `the message nests arrays and objects deeper than rpc.max_json_depth (${maxJsonDepth})`, { limit: maxJsonDepth })))
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
      response = await router.handle(message, ctx)
    } catch (err) {
      // the router answers every request itself; this is the last line of defence
      logger.warn({ err }, 'routing a message failed')
      response = errorResponse(null, err)
    }
    return response === null ? null : JSON.stringify(response)
  }
}

/** The response text for a message refused before it was read (e.g. a binary frame). */
export function invalidRequest (reason: string): string {
  return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.INVALID_REQUEST, reason)))
}

/** The request budget of one connection (a WebSocket, or an HTTP keep-alive socket). */
export function requestBudget (opts: ResolvedRpcServerOptions): TokenBucket {
  return new TokenBucket({ ratePerSecond: opts.maxRequestsPerSecond, burst: opts.requestBurst })
}

/** Writes a whole HTTP answer, unless one was already sent; `close` ends the connection after it. */
export function reply (res: ServerResponse, status: number, body: string, contentType = 'application/json', close = false, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  if (status === 304) {
    res.writeHead(304, headers).end()
    return
  }
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...(close ? { Connection: 'close' } : {}) })
  res.end(body)
}
