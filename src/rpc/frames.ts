import type { JSONRPCResponse } from 'json-rpc-2.0'
import type { Logger } from '../util/logger.js'
import type { Connection } from './connection.js'
import { JsonRpcCode, RpcError, RpcErrorCode } from './errors.js'
import { errorResponse, type Router } from './router.js'
import type { TokenBucket } from './limits.js'
import { scanFrame, type JsonSpan } from './json-scan.js'
import { nextTurn } from './turns.js'
import { andThen, isThenable, type MaybePromise } from '../util/maybe.js'

type Response = JSONRPCResponse

/** A request of a message after the checks that come before parsing it. */
interface Checked {
  item: JsonSpan
  /** The id's text as the client wrote it (a string or a number). */
  id: string | undefined
  /** Set when the request was refused unparsed: its answer, or null when none is owed. */
  answer?: Response | null
  message?: unknown
}

const REQUEST_MEMBERS = ['id', 'method', 'params'] as const

/** Where a message came from. */
export interface FrameContext {
  transport: 'ws' | 'http'
  /** The WebSocket connection; absent over HTTP. */
  connection?: Connection
  /** The request budget of the client the message came from: each request takes a token. */
  rate?: TokenBucket
}

export interface FrameHandlerOptions {
  /** Deepest nesting of arrays and objects in a message. @default 64 (`rpc.max_json_depth`) */
  maxJsonDepth: number
}

/**
 * A message larger than this from a client with no request token left is refused whole,
 * unread (id null); a smaller one is read shallowly so each request is refused with its id.
 */
const READ_WHEN_LIMITED_CHARS = 64 * 1024

/**
 * Tasks a request may carry per request token: a large workflow costs its client as many
 * tokens more (in debt, down to minus `rpc.request_burst`), since computing its CIDs is the
 * node's work; at the default rate one client submits at most ~4 000 tasks a second.
 */
const TASKS_PER_TOKEN = 20

/** A message longer than this gives the event loop a turn between the steps that read it whole. */
const YIELD_ABOVE_CHARS = 64 * 1024

/**
 * Turns the text of a message (a WebSocket frame or an HTTP body) into the text of its
 * answer, with the cheap checks first:
 *
 * 1. a client with no request token left is refused before anything is read;
 * 2. one linear pass (`scanFrame`) checks the nesting depth and finds each request's span;
 * 3. the batch length, then for each request a token of the client's budget and the
 *    method's shallow checks (`Router.precheck`: task counts, per request and per message).
 *    A request refused here is answered without being parsed;
 * 4. each remaining request is parsed on its own (`JSON.parse` of its span). A syntax error
 *    anywhere makes the whole message a parse error, as JSON-RPC asks, before anything runs;
 * 5. the requests of a batch are started one per turn of the event loop, so a batch of
 *    heavy requests does not hold the node while other clients' messages wait (a large
 *    message also gives the loop a turn between steps 2, 3 and 4);
 * 6. each response carries its request's id exactly as the client wrote it (`1e400`,
 *    `18446744073709551616`, `1.0` and string escapes come back unchanged).
 *
 * A request that reads its params losslessly (`subscribe_run_workflow`) finds the text of
 * that request alone in `RequestContext.raw`, so a message is parsed once, whatever it holds.
 */
/** What the checks of one message count as they go: its tasks and size, and the refusal for the rate once one was made. */
interface FrameTally {
  tasks: number
  chars: number
  limited?: RpcError
}

export class FrameHandler {
  private readonly router: Router
  private readonly opts: FrameHandlerOptions
  private readonly logger: Logger

  constructor (router: Router, opts: FrameHandlerOptions, logger: Logger) {
    this.router = router
    this.opts = opts
    this.logger = logger
  }

  /**
   * The answer's text, or null when nothing is owed (only notifications): at once for a
   * message of one request whose method answers at once, else a promise of it.
   */
  handle (text: string, ctx: FrameContext): MaybePromise<string | null> {
    const { rate } = ctx
    if (rate !== undefined && text.length > READ_WHEN_LIMITED_CHARS && rate.waitMs() > 0) return JSON.stringify(errorResponse(null, rateLimitedError(rate)))
    const scan = scanFrame(text, this.opts.maxJsonDepth)
    if (scan.kind === 'too_deep') {
      rate?.take()
      const limit = this.opts.maxJsonDepth
      return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.JSON_TOO_DEEP, `the message nests arrays and objects deeper than rpc.max_json_depth (${limit})`, { limit })))
    }
    if (scan.kind === 'malformed') {
      rate?.take()
      return this.unscanned(text, ctx)
    }
    const { items, batch } = scan
    const large = text.length > YIELD_ABOVE_CHARS
    if (batch) return this.batch(items, text.length, large, ctx)
    const frame: FrameTally = { tasks: 0, chars: text.length }
    return large ? nextTurn().then(() => this.single(items[0], frame, ctx, true)) : this.single(items[0], frame, ctx, false)
  }

  /** A batch: the steps of `handle` for each of its requests, started one per turn of the event loop. */
  private async batch (items: JsonSpan[], chars: number, large: boolean, ctx: FrameContext): Promise<string | null> {
    if (large) await nextTurn()
    if (items.length === 0) return JSON.stringify(invalidRequest('empty batch'))
    const maxBatch = this.router.maxBatch
    if (items.length > maxBatch) {
      return JSON.stringify(errorResponse(null, new RpcError(RpcErrorCode.BATCH_TOO_LARGE, `batch of ${items.length} requests exceeds the limit of ${maxBatch}`, { limit: maxBatch, length: items.length })))
    }

    const frame: FrameTally = { tasks: 0, chars }
    const requests: Checked[] = []
    for (const item of items) requests.push(this.check(item, frame, ctx.rate))
    if (large) await nextTurn()
    for (const r of requests) {
      if (r.answer !== undefined) continue
      try {
        r.message = JSON.parse(r.item.raw)
      } catch (err) {
        return parseError(err)
      }
    }

    const pending: Array<Promise<Response | null>> = []
    for (const [i, r] of requests.entries()) {
      if (r.answer !== undefined) {
        pending.push(Promise.resolve(r.answer))
        continue
      }
      // one request per turn of the event loop: other clients' messages get in between
      if (i > 0 || large) await nextTurn()
      pending.push(Promise.resolve(this.route(r.message, { transport: ctx.transport, connection: ctx.connection, raw: r.item.raw })))
    }
    const responses = await Promise.all(pending)
    const out: string[] = []
    responses.forEach((response, i) => { if (response !== null) out.push(serialize(response, requests[i].id)) })
    if (out.length === 0) return null
    return `[${out.join(',')}]`
  }

  /**
   * A message that is one request: the steps of `handle` without the batch's lists, at once
   * unless the message is `large` (the event loop then gets a turn before parsing it and
   * another before running it).
   */
  private single (item: JsonSpan, frame: FrameTally, ctx: FrameContext, large: boolean): MaybePromise<string | null> {
    const r = this.check(item, frame, ctx.rate)
    if (r.answer !== undefined) return r.answer === null ? null : serialize(r.answer, r.id)
    return large ? nextTurn().then(() => this.parseAndRun(item, r.id, ctx, true)) : this.parseAndRun(item, r.id, ctx, false)
  }

  /** `single`'s request parsed, then run (after a turn of the event loop when it is `large`): the text of its answer. */
  private parseAndRun (item: JsonSpan, id: string | undefined, ctx: FrameContext, large: boolean): MaybePromise<string | null> {
    let message: unknown
    try {
      message = JSON.parse(item.raw)
    } catch (err) {
      return parseError(err)
    }
    return large ? nextTurn().then(() => this.run(message, item, id, ctx)) : this.run(message, item, id, ctx)
  }

  private run (message: unknown, item: JsonSpan, id: string | undefined, ctx: FrameContext): MaybePromise<string | null> {
    return andThen(this.route(message, { transport: ctx.transport, connection: ctx.connection, raw: item.raw }), response => response === null ? null : serialize(response, id))
  }

  /**
   * The checks of one request before it is parsed: a token of the client's budget, then the
   * method's shallow checks. `answer` is set when the request is refused (null for a
   * notification, which gets no answer).
   */
  private check (item: JsonSpan, frame: FrameTally, rate: TokenBucket | undefined): Checked {
    // one pass over the request for the members the checks read
    const object = item.kind === 'object'
    const members = object ? item.members(REQUEST_MEMBERS) : undefined
    const idSpan = members?.[0]
    const idKind = idSpan?.kind
    const r: Checked = { item, id: idKind === 'string' || idKind === 'number' ? idSpan?.raw : undefined }
    const notification = object && idSpan === undefined
    if (rate !== undefined && !rate.take()) {
      // one error for every request of the message refused for the rate (an error object captures a stack)
      frame.limited ??= rateLimitedError(rate)
      r.answer = notification ? null : refusal(r.id, frame.limited)
      return r
    }
    const counted = frame.tasks
    const refused = this.router.precheck(members?.[1], members?.[2], frame)
    if (refused !== undefined) r.answer = notification ? null : refusal(r.id, refused)
    // every task is CIDs to compute: a request pays one token more per TASKS_PER_TOKEN tasks
    else rate?.charge(Math.floor((frame.tasks - counted) / TASKS_PER_TOKEN))
    return r
  }

  private route (message: unknown, ctx: Parameters<Router['handleOne']>[1]): MaybePromise<Response | null> {
    // the router answers every request itself; this is the last line of defence
    const failed = (err: unknown): Response => {
      this.logger.warn({ err }, 'routing a message failed')
      return errorResponse(null, err)
    }
    try {
      const answer = this.router.handleOne(message, ctx)
      return isThenable(answer) ? answer.then(undefined, failed) : answer
    } catch (err) {
      return failed(err)
    }
  }

  /** A message the scan could not follow: `JSON.parse` says what is wrong with it. */
  private async unscanned (text: string, ctx: FrameContext): Promise<string | null> {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch (err) {
      return parseError(err)
    }
    // valid JSON the scan did not follow (it should not happen): route it as it is
    this.logger.debug('a message the frame scan could not follow parsed as JSON')
    const response = await this.router.handle(message, { transport: ctx.transport, connection: ctx.connection })
    return response === null ? null : JSON.stringify(response)
  }
}

/**
 * A response's text with the id of its request as the client wrote it. `id` is the raw text
 * of a string or number id; the parsed id is only trusted when there is none (an id that was
 * not valid is answered with null).
 */
function serialize (response: Response, id: string | undefined): string {
  if (id === undefined || response.id === null) return JSON.stringify(response)
  const body = response.error !== undefined ? `"error":${JSON.stringify(response.error)}` : `"result":${JSON.stringify(response.result ?? null)}`
  return `{"jsonrpc":"2.0","id":${id},${body}}`
}

/** The answer to a request refused before it was parsed; `serialize` gives it the request's id. */
function refusal (id: string | undefined, err: unknown): Response {
  // 0 stands in for the id the client wrote, which `serialize` puts back; null when there was none
  return errorResponse(id === undefined ? null : 0, err)
}

function rateLimitedError (rate: TokenBucket): RpcError {
  return new RpcError(RpcErrorCode.RATE_LIMITED, `more than rpc.max_requests_per_second (${rate.rate}, burst ${rate.burst}) from this client; retry later`, { limit: rate.rate, burst: rate.burst, retry_after_ms: rate.waitMs() })
}

function parseError (err: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', error: { code: JsonRpcCode.PARSE_ERROR, message: 'Parse error', data: { code: RpcErrorCode.PARSE, message: (err as Error).message } }, id: null })
}

function invalidRequest (problem: string): Response {
  return errorResponse(null, new RpcError(RpcErrorCode.INVALID_REQUEST, problem))
}
