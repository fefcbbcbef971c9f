import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { encodeVarint } from '../wire/protobuf.js'

/** How long an outgoing stream may sit unused before it is closed. */
const IDLE_CLOSE_MS = 30_000
/** Time allowed to open a stream, and to write one message. */
const STREAM_TIMEOUT_MS = 10_000

/**
 * Messages to one peer, in order, over one long-lived stream (as go-bitswap keeps one per
 * peer): a stream's flow-control window grows as data flows, so large replies are not held to
 * the small window every new stream starts with. A stream that fails is replaced once per
 * message; one left unused for a while is closed.
 */
export class PeerSender {
  private stream?: Stream
  private tail: Promise<void> = Promise.resolve()
  private idle?: NodeJS.Timeout
  private closed = false

  constructor (private readonly libp2p: Libp2p, private readonly peer: PeerId, private readonly protocols: string[]) {}

  /** Sends one message after those sent before it; resolves once it is handed to the transport. */
  async send (message: Uint8Array): Promise<void> {
    const sent = this.tail.then(async () => { await this.write(message) })
    this.tail = sent.catch(() => {})
    await sent
  }

  /** Closes the stream for good: messages still queued fail. */
  close (): void {
    this.closed = true
    this.closeStream()
  }

  private closeStream (): void {
    clearTimeout(this.idle)
    const stream = this.stream
    this.stream = undefined
    if (stream !== undefined) void stream.close().catch(() => { stream.abort(new Error('closed')) })
  }

  private async write (message: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('the peer\'s sender is closed')
    clearTimeout(this.idle)
    const header: number[] = []
    encodeVarint(message.length, header)
    for (let attempt = 0; ; attempt++) {
      const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
      const stream = this.stream ?? await this.libp2p.dialProtocol(this.peer, this.protocols, { signal })
      this.stream = stream
      try {
        // the length and the message go out as two writes: a large message is not copied to prefix it
        if (!stream.send(Uint8Array.from(header))) await stream.onDrain({ signal })
        if (!stream.send(message)) await stream.onDrain({ signal })
        break
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        if (this.stream === stream) this.stream = undefined
        // a stream the peer closed since the last message: one more try on a new one
        if (attempt > 0 || this.closed) throw err
      }
    }
    this.idle = setTimeout(() => { this.closeStream() }, IDLE_CLOSE_MS).unref()
  }
}
