import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lengthPrefixed, readLengthPrefixed } from './wire/framing.js'

/** How long a session's stream may sit unused before it is closed. */
export const SESSION_IDLE_MS = 30_000

/**
 * Requests to one peer over one long-lived stream, each answered before the next is sent.
 * Opening a stream costs both sides a protocol negotiation and the muxer's set-up and
 * tear-down, which for a lookup of a few receipts was most of what answering it cost; a run's
 * lookups reuse one stream instead. A stream the peer closed or reset since the last answer is
 * replaced once per request; one left unused for `SESSION_IDLE_MS` is closed.
 */
export class ExchangeSession {
  private stream?: Stream
  private answers?: AsyncGenerator<Uint8Array>
  private idle?: NodeJS.Timeout
  private closed = false
  /** Whether a request is waiting for its answer (a second one goes elsewhere instead of queueing). */
  busy = false

  constructor (
    private readonly node: Pick<Libp2p, 'dialProtocol'>,
    private readonly peer: PeerId,
    private readonly protocol: string,
    private readonly maxAnswerBytes: number
  ) {}

  /** Sends one request and resolves with its answer; throws when the peer does not answer. */
  async ask (request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    if (this.busy) throw new Error('the session is waiting for an answer')
    if (this.closed) throw new Error('the session is closed')
    this.busy = true
    clearTimeout(this.idle)
    try {
      for (let attempt = 0; ; attempt++) {
        // a stream the peer stopped writing to can carry no answer
        if (this.stream !== undefined && this.stream.remoteWriteStatus !== 'writable') this.drop()
        const reused = this.stream !== undefined
        const stream = this.stream ?? await this.node.dialProtocol(this.peer, this.protocol, { signal })
        if (this.closed) {
          stream.abort(new Error('the session is closed'))
          throw new Error('the session is closed')
        }
        if (!reused) {
          this.stream = stream
          this.answers = readLengthPrefixed(stream, this.maxAnswerBytes)
        }
        const answers = this.answers!
        const onAbort = (): void => { stream.abort(new Error('the request was aborted')) }
        signal.addEventListener('abort', onAbort, { once: true })
        try {
          if (!stream.send(lengthPrefixed(request))) await stream.onDrain({ signal })
          const answer = await answers.next()
          if (answer.done === true) throw new Error('the peer closed the stream without answering')
          return answer.value
        } catch (err) {
          this.drop(err)
          // a reused stream the peer let go of since the last answer: one more try on a new one
          if (!reused || attempt > 0 || signal.aborted || this.closed) throw err
        } finally {
          signal.removeEventListener('abort', onAbort)
        }
      }
    } finally {
      this.busy = false
      if (this.stream !== undefined && !this.closed) this.idle = setTimeout(() => { this.release() }, SESSION_IDLE_MS).unref()
    }
  }

  /** Closes the session for good: a request waiting on it fails. */
  close (): void {
    this.closed = true
    this.release()
  }

  /** Lets the stream go (gracefully when no request waits on it); the next request opens another. */
  private release (): void {
    clearTimeout(this.idle)
    const stream = this.stream
    this.stream = undefined
    this.answers = undefined
    if (stream === undefined) return
    if (this.busy) stream.abort(new Error('the session is closed'))
    else void stream.close().catch(() => { stream.abort(new Error('the session is closed')) })
  }

  private drop (err?: unknown): void {
    const stream = this.stream
    this.stream = undefined
    this.answers = undefined
    stream?.abort(err instanceof Error ? err : new Error('the session dropped its stream'))
  }
}
