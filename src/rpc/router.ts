import { JSONRPCErrorException, createJSONRPCErrorResponse, createJSONRPCSuccessResponse, type JSONRPCID, type JSONRPCRequest, type JSONRPCResponse } from 'json-rpc-2.0'
import type { Logger } from '../util/logger.js'
import type { RpcMetrics } from '../metrics/index.js'
import { defaultConfig, type IpvmConfig } from '../config/index.js'
import { withDefaults } from '../util/options.js'
import { WorkflowError, WorkflowErrorCode } from '../workflow/index.js'
import { JsonRpcCode, RpcError, RpcErrorCode, toJsonRpcError } from './errors.js'
import type { OpenRpc, ValidationIssue } from './openrpc.js'
import type { RequestContext } from './context.js'
import type { JsonSpan } from './json-scan.js'
import { isThenable, type MaybePromise } from '../util/maybe.js'

/**
 * A method of any params and result: every handler accepts `never` params (parameters are
 * contravariant), so every `MethodDefinition<P, R>` is one. The router calls the handler
 * with params checked against the method's schema in `api.json`.
 */
export type AnyMethod = MethodDefinition<never, unknown>

export interface MethodDefinition<P = Record<string, unknown>, R = unknown> {
  name: string
  /** Reshapes raw params before validation, for forms the contract accepts besides the plain one. */
  normalizeParams?: (params: unknown) => unknown
  /**
   * How many workflow tasks the params carry, read shallowly from the request's text before
   * it is parsed (undefined when the text does not say): the router refuses a request, or a
   * frame, over `workflow.max_tasks` without parsing or validating it.
   */
  countTasks?: (params: JsonSpan) => number | undefined
  /** Needs a WebSocket connection (subscriptions). */
  subscription?: boolean
  handler: (params: P, ctx: RequestContext) => R | Promise<R>
}

export interface RouterOptions {
  /** Check every result against its schema too (tests turn this on). @default false */
  validateResults: boolean
  /** Longest batch. @default 100 (`rpc.max_batch`) */
  maxBatch: number
  /** Most workflow tasks in one request, and in all the requests of one frame. @default 10000 (`workflow.max_tasks`) */
  maxTasks: number
}

/** The router's options from the `[rpc]` and `[workflow]` settings. */
export function routerOptions (config: Pick<IpvmConfig, 'rpc' | 'workflow'>, validateResults = false): RouterOptions {
  return { validateResults, maxBatch: config.rpc.max_batch, maxTasks: config.workflow.max_tasks }
}

export const defaultRouterOptions: RouterOptions = routerOptions(defaultConfig)

/**
 * Params whose request text is longer than this are refused with their first schema error
 * only; shorter ones get the list of every error (see `OpenRpc.validateParams`).
 */
const EXPLAIN_MAX_CHARS = 64 * 1024

export interface RouterComponents {
  openrpc: OpenRpc
  logger: Logger
  metrics?: RpcMetrics
}

type Response = JSONRPCResponse

/** A registered method bound to its metric series: resolves to its answer (null for a notification), or rejects with what the handler threw. */
type Call = (request: JSONRPCRequest, ctx: RequestContext) => MaybePromise<Response | null>

/**
 * Dispatches parsed JSON-RPC messages to the registered methods: checks the envelope,
 * validates params against `api.json`, runs the handler, maps errors to JSON-RPC codes.
 * Transport-agnostic: the WebSocket and HTTP transports hand it parsed messages.
 *
 * Responses and errors are json-rpc-2.0's (`createJSONRPCSuccessResponse`,
 * `JSONRPCErrorException`); the method is called here rather than through its
 * `JSONRPCServer.receive`, which adds nothing the checks above have not done and, built as
 * ES5 generators, cost some 2.5 µs of the node's 17 µs of CPU per `health` request.
 */
export class Router {
  /** Each registered method and its call, bound to its metric series. */
  private readonly methods = new Map<string, { def: AnyMethod, call: Call }>()
  private readonly opts: RouterOptions
  private readonly components: RouterComponents

  constructor (opts: Partial<RouterOptions>, components: RouterComponents) {
    this.opts = withDefaults(defaultRouterOptions, opts)
    this.components = components
  }

  /** The answer to a request whose method threw or rejected (logged when the error is the node's own). */
  private errorAnswer (id: JSONRPCID, error: unknown): Response {
    const e = error instanceof JSONRPCErrorException ? { code: error.code, message: error.message, data: error.data as unknown } : toJsonRpcError(error)
    if (e.code === JsonRpcCode.INTERNAL_ERROR) this.components.logger.warn({ err: error }, 'rpc method failed')
    return createJSONRPCErrorResponse(id, e.code, e.message, e.data)
  }

  register (def: AnyMethod): void {
    if (this.components.openrpc.method(def.name) === undefined) {
      throw new RpcError(RpcErrorCode.INTERNAL, `method ${def.name} is not described in api.json`)
    }
    // the method's series, bound once: a request only adds to them
    const metrics = this.components.metrics
    const series = metrics === undefined
      ? undefined
      : { ok: metrics.requests.child({ method: def.name, outcome: 'ok' }), error: metrics.requests.child({ method: def.name, outcome: 'error' }), seconds: metrics.durationSeconds.child({ method: def.name }) }
    const observe = (outcome: 'ok' | 'error', started: number): void => {
      if (series === undefined) return
      series[outcome].inc()
      series.seconds.observe((performance.now() - started) / 1000)
    }
    const failed = (err: unknown, started: number): never => {
      observe('error', started)
      throw err
    }
    const settle = (id: JSONRPCID | undefined, result: unknown, started: number): Response | null => {
      if (this.opts.validateResults) {
        const issues = this.components.openrpc.validateResult(def.name, result)
        if (issues.length > 0) failed(new RpcError(RpcErrorCode.INVALID_RESULT, `result of ${def.name} does not match api.json`, { issues }), started)
      }
      observe('ok', started)
      return id === undefined ? null : createJSONRPCSuccessResponse(id, result)
    }
    // `handleOne` checked the params against the method's schema: they are its `P`. What the
    // handler throws or rejects with, `handleOne` answers (`errorAnswer`).
    const call: Call = (request, ctx) => {
      const started = performance.now()
      let result: unknown
      try {
        result = def.handler(request.params as never, ctx)
      } catch (err) {
        return failed(err, started)
      }
      return isThenable(result)
        ? Promise.resolve(result).then(value => settle(request.id, value, started), (err: unknown) => failed(err, started))
        : settle(request.id, result, started)
    }
    this.methods.set(def.name, { def, call })
  }

  registeredMethods (): string[] {
    return [...this.methods.keys()]
  }

  get maxBatch (): number {
    return this.opts.maxBatch
  }

  /**
   * The checks that come before a request is parsed, on its text (`method` and `params` are
   * spans of it): a method that carries workflow tasks is refused (`WORKFLOW_TOO_LARGE`)
   * over `workflow.max_tasks`, or when the requests of the same message already carry that
   * many (`frame.tasks`, which this adds to). `frame.chars` is the message's length: a
   * message too short to hold that many tasks (a task takes at least 3 characters, `{},`)
   * is not counted at all.
   */
  precheck (method: JsonSpan | undefined, params: JsonSpan | undefined, frame: { tasks: number, chars: number }): RpcError | WorkflowError | undefined {
    const limit = this.opts.maxTasks
    if (params === undefined || method === undefined || frame.chars < 3 * limit) return undefined
    const name = method.string(256)
    const count = name === undefined ? undefined : this.methods.get(name)?.def.countTasks
    const tasks = count?.(params)
    if (tasks === undefined) return undefined
    if (tasks > limit) {
      return new WorkflowError(WorkflowErrorCode.TOO_LARGE, `the workflow has ${tasks} tasks, more than workflow.max_tasks (${limit})`, { limit, tasks })
    }
    if (frame.tasks + tasks > limit) {
      return new WorkflowError(WorkflowErrorCode.TOO_LARGE, `the requests of this message carry more than workflow.max_tasks (${limit}) tasks in all; send them in separate messages`, { limit, tasks, frame_tasks: frame.tasks + tasks })
    }
    frame.tasks += tasks
    return undefined
  }

  /**
   * One parsed message (a request or a batch), for callers inside the node (the GET routes).
   * Resolves to what to send back, or null for nothing. Messages from clients go through
   * `FrameHandler`, which checks them before they are parsed and calls `handleOne`.
   */
  async handle (message: unknown, ctx: RequestContext): Promise<Response | Response[] | null> {
    if (Array.isArray(message)) {
      if (message.length === 0) return invalidRequest(null, 'empty batch')
      if (message.length > this.opts.maxBatch) {
        return errorResponse(null, new RpcError(RpcErrorCode.BATCH_TOO_LARGE, `batch of ${message.length} requests exceeds the limit of ${this.opts.maxBatch}`, { limit: this.opts.maxBatch, length: message.length }))
      }
      const responses = (await Promise.all(message.map(async m => await this.handleOne(m, ctx)))).filter((r): r is Response => r !== null)
      return responses.length === 0 ? null : responses
    }
    return await this.handleOne(message, ctx)
  }

  /**
   * One parsed request; `ctx.raw` is its text, when it came from a client. The envelope,
   * the method and its params (against `api.json`) are checked before the method runs; what
   * it throws or rejects with is answered as a JSON-RPC error (none for a notification).
   * The answer comes at once when the method's does (no promise on the way).
   */
  handleOne (message: unknown, ctx: RequestContext): MaybePromise<Response | null> {
    const problem = envelopeProblem(message)
    if (problem !== undefined) {
      const id = isObject(message) && isId(message.id) ? message.id : null
      return invalidRequest(id, problem)
    }
    const request = message as JSONRPCRequest
    const method = this.methods.get(request.method)
    if (method === undefined) {
      if (request.id === undefined) return null
      const name = request.method.length > 100 ? `${JSON.stringify(request.method.slice(0, 100))}…` : JSON.stringify(request.method)
      return errorResponse(request.id, new RpcError(RpcErrorCode.METHOD_NOT_FOUND, `no method ${name}; rpc.discover lists them`))
    }
    const refused = this.refusal(request, method.def, ctx)
    if (refused !== undefined) return refused
    const failed = (err: unknown): Response | null => request.id === undefined ? null : this.errorAnswer(request.id, err)
    let answer: MaybePromise<Response | null>
    try {
      answer = method.call(request, { transport: ctx.transport, connection: ctx.connection, raw: ctx.raw, id: request.id, method: request.method })
    } catch (err) {
      return failed(err)
    }
    return isThenable(answer) ? answer.then(undefined, failed) : answer
  }

  /**
   * Why a request is not run, as its answer (null for a notification, which gets none), or
   * undefined when it is run: its params, checked, then replace what the client sent.
   */
  private refusal (request: JSONRPCRequest, def: AnyMethod, ctx: RequestContext): Response | null | undefined {
    if (def.subscription === true && ctx.connection === undefined) {
      return request.id === undefined ? null : errorResponse(request.id, new RpcError(RpcErrorCode.SUBSCRIPTION_NEEDS_WEBSOCKET, `${def.name} needs a WebSocket connection`))
    }
    const params: unknown = request.params
    const raw = def.normalizeParams !== undefined ? def.normalizeParams(params) : params
    const checked = this.components.openrpc.validateParams(def.name, raw, (ctx.raw?.length ?? 0) <= EXPLAIN_MAX_CHARS)
    if (!checked.ok) {
      if (request.id === undefined) return null
      return errorResponse(request.id, invalidParams(def.name, checked.issues))
    }
    request.params = checked.value
    return undefined
  }
}

export function invalidParams (method: string, issues: ValidationIssue[]): RpcError {
  const summary = issues.slice(0, 3).map(i => `${i.path === '' ? 'params' : i.path} ${i.message}`).join('; ')
  return new RpcError(RpcErrorCode.INVALID_PARAMS, `invalid params for ${method}: ${summary}${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ''}`, { issues })
}

function envelopeProblem (m: unknown): string | undefined {
  if (!isObject(m)) return 'a request must be a JSON object'
  if (m.jsonrpc !== '2.0') return 'jsonrpc must be exactly "2.0"'
  if (typeof m.method !== 'string') return m.method === undefined ? 'method is missing' : 'method must be a string'
  if ('id' in m && !isId(m.id)) return 'id must be a string, a number or null'
  if ('params' in m && m.params !== undefined && (m.params === null || typeof m.params !== 'object')) return 'params must be an array or an object'
  if ('result' in m || 'error' in m) return 'a request has no result or error member'
  return undefined
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isId (v: unknown): v is string | number | null {
  return typeof v === 'string' || typeof v === 'number' || v === null
}

function invalidRequest (id: string | number | null, problem: string): Response {
  return createJSONRPCErrorResponse(id, JsonRpcCode.INVALID_REQUEST, 'Invalid Request', { code: RpcErrorCode.INVALID_REQUEST, message: problem })
}

export function errorResponse (id: string | number | null, err: unknown): Response {
  const e = toJsonRpcError(err)
  return createJSONRPCErrorResponse(id, e.code, e.message, e.data)
}
