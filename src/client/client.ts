import WebSocket from 'ws'
import { JSONRPCClient, JSONRPCErrorException, type JSONRPCResponse } from 'json-rpc-2.0'
import type { NetworkEventNotification, RunNotification } from './notifications.js'
import { SubscriptionStream } from './subscription.js'

export interface ClientOptions {
  /** Bearer token, when the node has `rpc.auth_token` set. */
  token?: string
  /** Time allowed to connect. @default 5000 */
  connectTimeoutMs?: number
  /** Time allowed for each request. @default 30000 */
  requestTimeoutMs?: number
  /** Local address to connect from (a machine with several addresses). @default chosen by the system */
  localAddress?: string
}

/** The code json-rpc-2.0 gives the requests it rejects when the connection closes (`rejectAllPendingRequests`). */
const CONNECTION_CLOSED = 0

/** A JSON-RPC error the node answered with. `code` is the JSON-RPC number; `data.code` the node's error code. */
export class RpcClientError extends Error {
  readonly code: number
  readonly data: unknown
  constructor (code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'RpcClientError'
    this.code = code
    this.data = data
  }

  /** The node's stable error code (`WORKFLOW_NOT_FOUND`, ...), when it gave one. */
  get nodeCode (): string | undefined {
    const d = this.data as { code?: unknown } | undefined
    return typeof d?.code === 'string' ? d.code : undefined
  }
}


const ORPHAN_LIMIT = 10_000

/** What this client asks of a run's subscription: plain JSON, and the status notifications too. */
const RUN_OPTIONS = { format: 'json', status: true }

/**
 * A typed client of the node's JSON-RPC API over one WebSocket: requests, batches and
 * subscriptions. Notification results in Homestar's byte-array framing are decoded too.
 */
/** How `runWorkflow` runs a workflow (schemas/subscription_options.json). */
export interface RunOptions {
  name?: string
  /** Where its tasks go: `local`, `spread` or `remote-first`. @default the node's `workflow.placement` */
  placement?: 'local' | 'spread' | 'remote-first'
  /** How peers' results are checked: `none`, `sample:<fraction>`, `replicate:<k>`. @default the node's `compute.verify` */
  verify?: string
  /** Where single tasks go, by instruction CID. */
  taskPlacement?: Record<string, 'local' | 'spread' | 'remote-first'>
}

export class IpvmClient {
  private readonly ws: WebSocket
  private readonly rpc: JSONRPCClient
  private readonly streams = new Map<string, SubscriptionStream<unknown>>()
  /** Notifications that arrived before their subscribe call returned. */
  private readonly orphans = new Map<string, unknown[]>()
  private orphanCount = 0
  private readonly requestTimeoutMs: number
  private closed = false
  private readonly rawPending = new Map<string, { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  private rawSeq = 0
  /** Ids of batched requests: unique on this client (two batches in the same millisecond got the same ids when they were clock-based). */
  private batchSeq = 0

  private constructor (ws: WebSocket, requestTimeoutMs: number) {
    this.ws = ws
    this.requestTimeoutMs = requestTimeoutMs
    // JSONRPCClient calls this from an async method: a throw rejects the request
    this.rpc = new JSONRPCClient(payload => {
      if (ws.readyState !== WebSocket.OPEN) throw new Error('connection is closed')
      ws.send(JSON.stringify(payload))
    })
    ws.on('message', data => this.onMessage(frameText(data)))
    ws.on('close', () => {
      this.closed = true
      this.rpc.rejectAllPendingRequests('connection closed') // each with code 0 (CONNECTION_CLOSED)
      for (const p of this.rawPending.values()) { clearTimeout(p.timer); p.reject(new Error('connection closed')) }
      this.rawPending.clear()
      for (const s of this.streams.values()) s.end()
      this.streams.clear()
    })
  }

  /** Connects to `ws://host:port` (or a full URL). */
  static async connect (url: string, opts: ClientOptions = {}): Promise<IpvmClient> {
    const headers = opts.token !== undefined && opts.token !== '' ? { authorization: `Bearer ${opts.token}` } : undefined
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: opts.connectTimeoutMs ?? 5000, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) => reject(new RpcClientError(res.statusCode === 401 ? -32006 : -32603, `connection refused: HTTP ${res.statusCode ?? '?'}`)))
    })
    ;(ws as unknown as { _socket?: { setNoDelay?: (v: boolean) => void } })._socket?.setNoDelay?.(true)
    return new IpvmClient(ws, opts.requestTimeoutMs ?? 30_000)
  }

  get isOpen (): boolean {
    return !this.closed
  }

  async request<T = unknown> (method: string, params?: unknown): Promise<T> {
    try {
      return await this.rpc.timeout(this.requestTimeoutMs).request(method, params) as T
    } catch (err) {
      // code 0 is no node's answer: the requests still waiting when the connection closed
      if (err instanceof JSONRPCErrorException && err.code === CONNECTION_CLOSED) throw new Error('connection closed', { cause: err })
      if (err instanceof JSONRPCErrorException) throw new RpcClientError(err.code, err.message, err.data)
      throw err
    }
  }

  /**
   * A request whose params are given as JSON text and sent as they are: for workflows read from
   * a file, whose numbers must keep their exact form (`1.0`, integers beyond 2^53).
   */
  async requestRaw<T = unknown> (method: string, paramsJson: string): Promise<T> {
    if (this.closed) throw new Error('connection is closed')
    const id = `raw-${++this.rawSeq}`
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.rawPending.delete(id)
        reject(new Error(`no response to ${method} within ${this.requestTimeoutMs} ms`))
      }, this.requestTimeoutMs)
      this.rawPending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.ws.send(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${paramsJson}}`)
    })
  }

  /** Like `subscribe`, with params as raw JSON text (see `requestRaw`). */
  async subscribeRaw<T = unknown> (method: string, paramsJson: string, unsubscribeMethod: string): Promise<SubscriptionStream<T>> {
    const id = await this.requestRaw<string>(method, paramsJson)
    return this.attachStream<T>(id, unsubscribeMethod)
  }

  /** Several requests in one frame; resolves to each one's result or RpcClientError, in order. */
  async batch (calls: Array<{ method: string, params?: unknown }>): Promise<Array<unknown>> {
    const requests = calls.map(c => ({ jsonrpc: '2.0' as const, id: `b${++this.batchSeq}`, method: c.method, ...(c.params !== undefined ? { params: c.params } : {}) }))
    const responses = await this.rpc.timeout(this.requestTimeoutMs).requestAdvanced(requests as never) as unknown as JSONRPCResponse[]
    const byId = new Map(responses.map(r => [r.id, r]))
    return requests.map(r => {
      const res = byId.get(r.id)
      if (res === undefined) return new RpcClientError(-32603, 'no response')
      if ('error' in res && res.error !== undefined) return new RpcClientError(res.error.code, res.error.message, res.error.data)
      return (res as { result: unknown }).result
    })
  }

  /** Calls a subscribe method and streams its notifications; closing the stream calls `unsubscribeMethod`. */
  async subscribe<T = unknown> (method: string, params: unknown, unsubscribeMethod: string): Promise<SubscriptionStream<T>> {
    const id = await this.request<string>(method, params)
    return this.attachStream<T>(id, unsubscribeMethod)
  }

  private attachStream<T> (id: string, unsubscribeMethod: string): SubscriptionStream<T> {
    const stream = new SubscriptionStream<T>(id, async () => {
      this.streams.delete(id)
      if (!this.closed) await this.request(unsubscribeMethod, [id])
    })
    this.streams.set(id, stream as SubscriptionStream<unknown>)
    const early = this.orphans.get(id)
    if (early !== undefined) {
      this.orphans.delete(id)
      this.orphanCount -= early.length
      for (const v of early) stream.push(v as T)
    }
    return stream
  }

  /**
   * Submits a workflow and streams its notifications: its receipts, its status changes and,
   * last, its final status (`collectRun` reads them). Give the workflow as JSON text (e.g. a
   * file's content) to keep its numbers exact; an object is serialized with JSON.stringify.
   */
  async runWorkflow (workflow: string | object, opts: RunOptions = {}): Promise<SubscriptionStream<RunNotification>> {
    const text = typeof workflow === 'string' ? workflow : JSON.stringify(workflow)
    const name = opts.name !== undefined ? `"name":${JSON.stringify(opts.name)},` : ''
    const options = {
      ...RUN_OPTIONS,
      ...(opts.placement !== undefined ? { placement: opts.placement } : {}),
      ...(opts.verify !== undefined ? { verify: opts.verify } : {}),
      ...(opts.taskPlacement !== undefined ? { task_placement: opts.taskPlacement } : {})
    }
    return await this.subscribeRaw<RunNotification>('subscribe_run_workflow', `[{${name}"workflow":${text}},${JSON.stringify(options)}]`, 'unsubscribe_run_workflow')
  }

  /** Streams the node's network events, `{"<event type>": {…, timestamp}}` objects (schemas/network.json). */
  async networkEvents (): Promise<SubscriptionStream<NetworkEventNotification>> {
    return await this.subscribe<NetworkEventNotification>('subscribe_network_events', [{ format: 'json' }], 'unsubscribe_network_events')
  }

  /** `starting` lists the parts of the node still starting (`network`), only while there are some. */
  async health (): Promise<{ healthy: boolean, starting?: string[] }> {
    return await this.request('health')
  }

  async node (): Promise<{ static: { peer_id: string }, dynamic: { listeners: string[], connections: Record<string, string> } }> {
    return await this.request('node')
  }

  async discover (): Promise<Record<string, unknown>> {
    return await this.request('rpc.discover')
  }

  async close (): Promise<void> {
    for (const s of this.streams.values()) s.end()
    this.streams.clear()
    if (this.ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>(resolve => {
      this.ws.once('close', () => resolve())
      this.ws.close()
      setTimeout(() => { this.ws.terminate(); resolve() }, 1000).unref()
    })
  }

  private onMessage (text: string): void {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      const n = m as { method?: unknown, params?: { subscription?: unknown, result?: unknown } }
      if (typeof n.method === 'string' && typeof n.params?.subscription === 'string') {
        this.onNotification(n.params.subscription, decodeResult(n.params.result))
      }
    }
    if (!Array.isArray(message) && typeof (message as { id?: unknown }).id === 'string') {
      const raw = this.rawPending.get((message as { id: string }).id)
      if (raw !== undefined) {
        this.rawPending.delete((message as { id: string }).id)
        clearTimeout(raw.timer)
        const r = message as { result?: unknown, error?: { code: number, message: string, data?: unknown } }
        if (r.error !== undefined) raw.reject(new RpcClientError(r.error.code, r.error.message, r.error.data))
        else raw.resolve(r.result)
        return
      }
    }
    if (Array.isArray(message) || (message as { method?: unknown }).method === undefined) this.rpc.receive(message as JSONRPCResponse)
  }

  private onNotification (id: string, result: unknown): void {
    const stream = this.streams.get(id)
    if (stream !== undefined) {
      stream.push(result)
      return
    }
    if (this.orphanCount >= ORPHAN_LIMIT) return
    const list = this.orphans.get(id) ?? []
    list.push(result)
    this.orphans.set(id, list)
    this.orphanCount++
  }
}

/** Homestar's framing sends the DAG-JSON text as an array of byte values; undo that. */
function decodeResult (result: unknown): unknown {
  if (Array.isArray(result) && result.length > 0 && result.every(b => typeof b === 'number' && b >= 0 && b <= 255 && Number.isInteger(b))) {
    try {
      return JSON.parse(Buffer.from(result as number[]).toString('utf8'))
    } catch {
      return result
    }
  }
  return result
}

/** A frame's text. `ws` hands a frame over as one Buffer unless `binaryType` is changed (this client keeps the default). */
function frameText (data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString()
  return Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString()
}
