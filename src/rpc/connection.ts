import { randomInt } from 'node:crypto'
import type { WebSocket } from 'ws'
import type { Logger } from '../util/logger.js'
import { LruMap } from '../util/lru.js'
import { byteArrayJson } from './byte-array.js'
import { RpcError, RpcErrorCode } from './errors.js'

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A whole message, as text. */
const SEND_TEXT = { binary: false } as const

/** A notification result longer than this is sent as fragments around one shared UTF-8 copy. */
const SHARED_ABOVE_CHARS = 64 * 1024

/**
 * The UTF-8 bytes of the large payloads sent last, and their `bytes` form, encoded once for
 * every connection that sends them (kept while recent: at most 64 MiB of each). Keyed by the
 * text, not the payload object: the runs of one workflow that many clients replay send the
 * same notifications.
 */
const encoded = new LruMap<string, Buffer>(64 * 1024 * 1024, { weigh: bytes => bytes.byteLength })

const encodedAsBytes = new LruMap<string, Buffer>(64 * 1024 * 1024, { weigh: bytes => bytes.byteLength })

function utf8Of (payload: { dagJson: string }): Buffer {
  let bytes = encoded.get(payload.dagJson)
  if (bytes === undefined) {
    bytes = Buffer.from(payload.dagJson, 'utf8')
    encoded.set(payload.dagJson, bytes)
  }
  return bytes
}

/** The `bytes` form (a JSON array of the UTF-8 byte values), made once per text. */
function byteArrayOf (payload: { dagJson: string }): Buffer {
  let text = encodedAsBytes.get(payload.dagJson)
  if (text === undefined) {
    text = byteArrayJson(utf8Of(payload))
    encodedAsBytes.set(payload.dagJson, text)
  }
  return text
}

/** 16 random alphanumerics, like Homestar's subscription ids. */
export function subscriptionId (): string {
  let id = ''
  for (let i = 0; i < 16; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)]
  return id
}

/**
 * How a subscription's notification results are framed: `bytes` is Homestar's (a JSON array
 * of the UTF-8 bytes of the DAG-JSON text, what its clients decode), `json` the text itself.
 */
export type NotificationFormat = 'json' | 'bytes'

/** A notification payload: a JSON value, or DAG-JSON text that is sent as it is (keeps `1.0` a float). */
export type Payload = { json: unknown } | { dagJson: string }

export interface ConnectionOptions {
  /** The format of a subscription that asks for none (`rpc.notification_format`). */
  defaultFormat: NotificationFormat
  /** Disconnect a client that lets more than this many bytes pile up unsent. */
  maxBufferedBytes: number
  /** Subscriptions open at once on this connection. @default Infinity */
  maxSubscriptions?: number
  /** Told the size of each message written (the memory budget across connections). */
  onSent?: (bytes: number) => void
  /**
   * The connection's socket: held corked from the first message written in a turn of the
   * event loop to the end of that turn, so the responses and notifications of one turn leave
   * in one write instead of one each (the same bytes, in the same order).
   */
  socket?: { cork: () => void, uncork: () => void }
}

/**
 * One subscription on one connection. Notifications sent before the subscribe response
 * went out are held back and flushed right after it, so a client never sees a notification
 * for an id it has not been given yet, and never misses one.
 */
export class Subscription {
  readonly id: string
  readonly method: string
  readonly format: NotificationFormat
  private active = false
  private closed = false
  private readonly held: Payload[] = []
  private readonly onClose: Array<() => void> = []
  private readonly connection: Connection

  constructor (connection: Connection, method: string, format: NotificationFormat) {
    this.connection = connection
    this.method = method
    this.format = format
    this.id = subscriptionId()
  }

  get isClosed (): boolean {
    return this.closed
  }

  notify (payload: Payload): void {
    if (this.closed) return
    if (!this.active) {
      this.held.push(payload)
      return
    }
    this.connection.sendNotification(this, payload)
  }

  /** Called when the subscription ends (unsubscribe, connection closed); runs `fn` once. */
  whenClosed (fn: () => void): void {
    if (this.closed) fn()
    else this.onClose.push(fn)
  }

  activate (): void {
    if (this.active || this.closed) return
    this.active = true
    for (const p of this.held.splice(0)) this.connection.sendNotification(this, p)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.held.length = 0
    for (const fn of this.onClose.splice(0)) {
      try { fn() } catch { /* a listener's failure must not keep others from running */ }
    }
  }
}

/** A WebSocket client: its subscriptions and how notifications reach it. */
export class Connection {
  readonly id: number
  readonly subscriptions = new Map<string, Subscription>()
  private readonly ws: WebSocket
  private readonly opts: ConnectionOptions
  private readonly logger: Logger
  private readonly pending: Subscription[] = []
  private readonly onDrop: (reason: string) => void
  private corked = false
  private readonly uncork = (): void => {
    this.corked = false
    this.opts.socket?.uncork()
  }

  constructor (id: number, ws: WebSocket, opts: ConnectionOptions, logger: Logger, onDrop: (reason: string) => void) {
    this.id = id
    this.ws = ws
    this.opts = opts
    this.logger = logger
    this.onDrop = onDrop
  }

  get open (): boolean {
    return this.ws.readyState === this.ws.OPEN
  }

  /** Throws `RPC_SUBSCRIPTION_LIMIT` when this connection cannot open another subscription. */
  checkSubscriptionLimit (): void {
    const limit = this.opts.maxSubscriptions ?? Infinity
    if (this.subscriptions.size >= limit) {
      throw new RpcError(RpcErrorCode.SUBSCRIPTION_LIMIT, `this connection has ${this.subscriptions.size} subscriptions open, the most rpc.max_subscriptions_per_connection allows; unsubscribe first`, { limit })
    }
  }

  /** Opens a subscription whose notifications go out in `format` (default: the connection's). */
  subscribe (method: string, format: NotificationFormat = this.opts.defaultFormat): Subscription {
    this.checkSubscriptionLimit()
    const sub = new Subscription(this, method, format)
    this.subscriptions.set(sub.id, sub)
    sub.whenClosed(() => this.subscriptions.delete(sub.id))
    this.pending.push(sub)
    return sub
  }

  /** Ends one of this connection's subscriptions made with `method`; false when there is none. */
  unsubscribe (method: string, id: string): boolean {
    const sub = this.subscriptions.get(id)
    if (sub === undefined || sub.method !== method) return false
    sub.close()
    return true
  }

  /**
   * The response to the requests of the last frame has been sent: start delivering once the
   * event loop has been round once more (a poll for I/O between), in a write of its own. A
   * client that listens for a subscription's notifications only once its response is handed
   * over loses those it reads together with the response: Homestar's own client on Node.js
   * (`ws` hands over every message of one read before a promise's callbacks run) lost a
   * replayed run's receipts, which are ready the moment the run is submitted.
   */
  flushPending (): void {
    if (this.pending.length === 0) return
    const subs = this.pending.splice(0)
    setImmediate(() => { setImmediate(() => { for (const sub of subs) sub.activate() }) })
  }

  send (text: string): void {
    if (!this.writable()) return
    this.cork()
    // as bytes: the socket then writes buffers only, without copying the text into a block of its own
    this.ws.send(Buffer.from(text, 'utf8'), SEND_TEXT)
    this.opts.onSent?.(text.length)
  }

  /**
   * Sends one notification of `sub`, in the subscription's format. A large result is sent as
   * fragments around one shared encoding of it, made once for every subscriber.
   */
  sendNotification (sub: Subscription, payload: Payload): void {
    const head = `{"jsonrpc":"2.0","method":${JSON.stringify(sub.method)},"params":{"subscription":${JSON.stringify(sub.id)},"result":`
    if ('dagJson' in payload && payload.dagJson.length > SHARED_ABOVE_CHARS) {
      // one message in three fragments: the large middle one is the same buffer for every subscriber
      if (!this.writable()) return
      const body = sub.format === 'bytes' ? byteArrayOf(payload) : utf8Of(payload)
      this.cork()
      this.ws.send(head, { binary: false, fin: false })
      this.ws.send(body, { binary: false, fin: false })
      this.ws.send('}}', { binary: false, fin: true })
      this.opts.onSent?.(head.length + body.length + 2)
      return
    }
    const text = 'dagJson' in payload ? payload.dagJson : JSON.stringify(payload.json)
    const result = sub.format === 'bytes' ? byteArrayJson(Buffer.from(text, 'utf8')).toString('latin1') : text
    this.send(`${head}${result}}}`)
  }

  /** Corks the socket until the current turn's callbacks and promise jobs have run. */
  private cork (): void {
    const socket = this.opts.socket
    if (this.corked || socket === undefined) return
    this.corked = true
    socket.cork()
    process.nextTick(this.uncork)
  }

  /** Whether a message may be written: open, and not too far behind (a client that is, is disconnected). */
  private writable (): boolean {
    if (!this.open) return false
    if (this.ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.logger.warn({ connection: this.id, buffered: this.ws.bufferedAmount }, 'client is not reading; disconnecting it')
      this.onDrop('slow_client')
      this.ws.terminate()
      return false
    }
    return true
  }

  close (): void {
    for (const sub of [...this.subscriptions.values()]) sub.close()
    this.pending.length = 0
  }
}
