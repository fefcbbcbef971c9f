// JSON-RPC 2.0 over one WebSocket to the node, with subscriptions and reconnection.

const MAX_ORPHANS = 1000
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 15000

/** An error the node answered with: `code` is the JSON-RPC number, `data.code` the node's own code. */
export class RpcError extends Error {
  constructor (code, message, data) {
    super(message)
    this.name = 'RpcError'
    this.code = code
    this.data = data
  }

  /** The node's stable error code, when it gave one. */
  get nodeCode () {
    return typeof this.data?.code === 'string' ? this.data.code : undefined
  }

  /** Every detail the node gave, for display: its message and each schema violation. */
  describe () {
    const lines = [this.data?.message ?? this.message]
    for (const issue of Array.isArray(this.data?.issues) ? this.data.issues : []) {
      lines.push(`${issue.path ?? issue.instancePath ?? ''} ${issue.message ?? ''}`.trim())
    }
    return [...new Set(lines.filter(l => l !== ''))].join('; ')
  }
}

export class RpcConnection {
  #url
  #ws = null
  #seq = 0
  #pending = new Map()
  #subscriptions = new Map()
  #orphans = new Map()
  #orphanCount = 0
  #retryMs = RETRY_MIN_MS
  #timer = null
  #stopped = false
  #requestTimeoutMs
  #onState
  #onOpen

  /**
   * @param {string} url ws:// URL (with `?token=` when the node needs one)
   * @param {{ onState?: (state: string, detail?: object) => void, onOpen?: () => void, requestTimeoutMs?: number }} options
   */
  constructor (url, options = {}) {
    this.#url = url
    this.#onState = options.onState ?? (() => {})
    this.#onOpen = options.onOpen ?? (() => {})
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30000
  }

  get isOpen () {
    return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN
  }

  start () {
    this.#stopped = false
    this.#connect()
  }

  stop () {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#ws?.close(1000, 'page closed')
  }

  #connect () {
    this.#onState('connecting')
    const ws = new WebSocket(this.#url)
    this.#ws = ws
    ws.addEventListener('open', () => {
      this.#retryMs = RETRY_MIN_MS
      this.#onState('open')
      this.#onOpen()
    })
    ws.addEventListener('message', event => { if (typeof event.data === 'string') this.#onMessage(event.data) })
    ws.addEventListener('close', () => {
      if (this.#ws !== ws) return
      this.#ws = null
      for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(new RpcError(-32000, 'connection closed')) }
      this.#pending.clear()
      for (const sub of this.#subscriptions.values()) sub.onEnd?.()
      this.#subscriptions.clear()
      this.#orphans.clear()
      this.#orphanCount = 0
      if (this.#stopped) return
      const delayMs = this.#retryMs
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS)
      this.#onState('closed', { retryInMs: delayMs })
      this.#timer = setTimeout(() => this.#connect(), delayMs)
    })
  }

  /** Calls a method; params are serialized with JSON.stringify. */
  async request (method, params) {
    return await this.#send(method, params === undefined ? '' : `,"params":${JSON.stringify(params)}`, false)
  }

  /**
   * Calls a method with params given as JSON text, put into the frame as they are: a workflow's
   * numbers (`1.0`, integers past 2^53) reach the node in the form they were typed.
   */
  async requestRaw (method, paramsJson) {
    return await this.#send(method, `,"params":${paramsJson}`, true)
  }

  async #send (method, paramsPart, raw) {
    const ws = this.#ws
    if (ws === null || ws.readyState !== WebSocket.OPEN) throw new RpcError(-32000, 'not connected to the node')
    const id = ++this.#seq
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new RpcError(-32000, `no answer to ${method} within ${this.#requestTimeoutMs / 1000} s`))
      }, this.#requestTimeoutMs)
      this.#pending.set(id, { resolve, reject, timer, raw })
      ws.send(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)}${paramsPart}}`)
    })
  }

  /**
   * Routes a subscription's notifications to `handlers.onNotification` (those that arrived
   * before this call first); `handlers.onEnd` runs when the connection closes.
   */
  listen (subscriptionId, handlers) {
    this.#subscriptions.set(subscriptionId, handlers)
    const early = this.#orphans.get(subscriptionId)
    if (early !== undefined) {
      this.#orphans.delete(subscriptionId)
      this.#orphanCount -= early.length
      for (const result of early) handlers.onNotification(result)
    }
  }

  /** Stops routing a subscription's notifications and tells the node. */
  async unsubscribe (method, subscriptionId) {
    this.#subscriptions.delete(subscriptionId)
    if (this.isOpen) await this.request(method, [subscriptionId]).catch(() => false)
  }

  #onMessage (text) {
    let message
    try {
      message = JSON.parse(text)
    } catch {
      return
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (m === null || typeof m !== 'object') continue
      if (typeof m.method === 'string' && typeof m.params?.subscription === 'string') {
        this.#onNotification(m.params.subscription, decodeResult(m.params.result))
      } else if ('result' in m || 'error' in m) {
        this.#onResponse(m)
      }
    }
  }

  #onResponse (m) {
    let entries
    if (m.id === null || m.id === undefined) {
      // a frame the node could not read (e.g. a workflow that is not JSON): it cannot say which request it was
      entries = [...this.#pending.entries()].filter(([, p]) => p.raw)
    } else {
      const p = this.#pending.get(m.id)
      entries = p === undefined ? [] : [[m.id, p]]
    }
    for (const [id, p] of entries) {
      this.#pending.delete(id)
      clearTimeout(p.timer)
      if (m.error !== undefined) p.reject(new RpcError(m.error.code, m.error.message, m.error.data))
      else p.resolve(m.result)
    }
  }

  #onNotification (id, result) {
    const sub = this.#subscriptions.get(id)
    if (sub !== undefined) {
      sub.onNotification(result)
      return
    }
    if (this.#orphanCount >= MAX_ORPHANS) return
    const list = this.#orphans.get(id) ?? []
    list.push(result)
    this.#orphans.set(id, list)
    this.#orphanCount++
  }
}

/** Homestar's framing (`format: "bytes"`, what a subscription gets unless it asks otherwise) sends the JSON text as byte values. */
function decodeResult (result) {
  if (Array.isArray(result) && result.length > 0 && result.every(b => Number.isInteger(b) && b >= 0 && b <= 255)) {
    try {
      return JSON.parse(new TextDecoder().decode(new Uint8Array(result)))
    } catch {
      return result
    }
  }
  return result
}
