import WebSocket from 'ws'

/** A frame's text: `ws` hands a frame over as one Buffer with the default `binaryType`, else as an ArrayBuffer or fragments. */
export function frameText (data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString()
  return Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString()
}

/** A bare WebSocket for sending hand-made frames and reading raw replies. */
export class RawSocket {
  readonly ws: WebSocket
  private readonly inbox: string[] = []
  private waiter?: () => void
  closeCode?: number

  private constructor (ws: WebSocket) {
    this.ws = ws
    ws.on('message', d => {
      this.inbox.push(frameText(d))
      this.waiter?.()
    })
    ws.on('close', code => {
      this.closeCode = code
      this.waiter?.()
    })
  }

  /** `localAddress`: connect from another loopback address (127.0.0.2, …), which the node sees as another client. */
  static async open (url: string, opts: { localAddress?: string, maxPayload?: number } = {}): Promise<RawSocket> {
    const ws = new WebSocket(url, { ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}), ...(opts.maxPayload !== undefined ? { maxPayload: opts.maxPayload } : {}) })
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return new RawSocket(ws)
  }

  send (text: string): void {
    this.ws.send(text)
  }

  /** The next message as parsed JSON; fails after `timeoutMs`. */
  async next (timeoutMs = 2000): Promise<any> {
    const deadline = Date.now() + timeoutMs
    while (this.inbox.length === 0) {
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode})`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('no message in time')
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, left)
        this.waiter = () => { clearTimeout(t); resolve() }
      })
    }
    return JSON.parse(this.inbox.shift()!)
  }

  /** Resolves true when nothing arrives within `ms`. */
  async quietFor (ms: number): Promise<boolean> {
    await new Promise(resolve => setTimeout(resolve, ms))
    return this.inbox.length === 0
  }

  async request (body: unknown): Promise<any> {
    this.send(JSON.stringify(body))
    return await this.next()
  }

  async waitClosed (timeoutMs = 2000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    while (this.closeCode === undefined && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    if (this.closeCode === undefined) throw new Error('socket did not close')
    return this.closeCode
  }

  close (): void {
    this.ws.terminate()
  }
}
