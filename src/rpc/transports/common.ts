import type { ServerResponse } from 'node:http'
import { RpcError, RpcErrorCode } from '../errors.js'
import { errorResponse } from '../router.js'
import type { FrameContext, FrameHandler } from '../frames.js'
import type { MaybePromise } from '../../util/maybe.js'

/** Reads and routes one message: the response text, or null when nothing is owed; at once when it can be (see `FrameHandler.handle`). */
export type Dispatch = (text: string, ctx: FrameContext) => MaybePromise<string | null>

/** The one way a message becomes a response, whichever transport it came in on. */
export function createDispatch (frames: FrameHandler): Dispatch {
  return frames.handle.bind(frames)
}

/** The response text for a message refused before it was read (e.g. a binary frame). */
export function invalidRequest (reason: string): string {
  return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.INVALID_REQUEST, reason)))
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
