import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import {
  CANCEL_MESSAGE, COMPUTE_OFFER_PROTOCOL, COMPUTE_TASK_PROTOCOL, decodeExecutorMessage, decodeOffer, decodeTaskRequest, encodeOffer,
  encodeTaskAnswer, encodeTaskRequest, isCancel, MAX_CONTROL_BYTES, MAX_OFFER_BYTES, MAX_TASK_ANSWER_BYTES, MAX_TASK_REQUEST_BYTES,
  OFFER_REQUEST, STARTED_MESSAGE, type ComputeOffer, type RemoteTaskAnswer, type RemoteTaskRequest
} from './compute-wire.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import type { NetworkEvents } from './events.js'
import type { NetworkNode } from './libp2p.js'
import type { TrustPolicy } from './trust.js'
import { lengthPrefixed, readLengthPrefixed } from './wire/framing.js'

/** Streams of each compute protocol open at once, each way, per connection. */
const MAX_OFFER_STREAMS = 4
const MAX_TASK_STREAMS = 256

/** What this node does for peers that send it work (the compute subsystem provides it). */
export interface ComputeService {
  /** Whether a peer may ask for an offer and send tasks (`compute.accept`); asked before anything it sends is read. */
  accepts(peer: string): boolean
  /** The offer, as answered to `peer`. */
  offer(peer: string): ComputeOffer
  /** Runs a peer's task; `started` once it has a worker slot; `signal` aborts when the peer cancels or goes. */
  run(peer: string, request: RemoteTaskRequest, ctl: { signal: AbortSignal, started: () => void }): Promise<RemoteTaskAnswer>
}

/** Connected peers that speak the compute protocols come and go. */
export interface ComputePeerListener {
  up(peer: string): void
  down(peer: string): void
}

export interface ComputeTransportDeps {
  node: NetworkNode
  trust: TrustPolicy
  events: NetworkEvents
  logger: Logger
}

/**
 * The compute protocols on libp2p: answers offers and runs tasks for the peers the compute
 * service accepts, and asks peers for offers and sends them tasks, only those the trust
 * policy trusts (a result is only worth what the trust policy says of who made it).
 */
export class ComputeTransport {
  private service?: ComputeService
  private listener?: ComputePeerListener
  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const peer = event.detail.peerId.toString()
    if (event.detail.protocols.includes(COMPUTE_TASK_PROTOCOL) && this.mayDispatchTo(peer)) this.listener?.up(peer)
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => { this.listener?.down(event.detail.toString()) }

  constructor (private readonly deps: ComputeTransportDeps) {}

  async start (): Promise<void> {
    const { node } = this.deps
    await node.handle(COMPUTE_OFFER_PROTOCOL, (stream, connection) => { void this.serveOffer(stream, connection) }, { maxInboundStreams: MAX_OFFER_STREAMS, maxOutboundStreams: MAX_OFFER_STREAMS })
    await node.handle(COMPUTE_TASK_PROTOCOL, (stream, connection) => { void this.serveTask(stream, connection) }, { maxInboundStreams: MAX_TASK_STREAMS, maxOutboundStreams: MAX_TASK_STREAMS })
    node.addEventListener('peer:identify', this.onIdentify)
    node.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    const { node } = this.deps
    node.removeEventListener('peer:identify', this.onIdentify)
    node.removeEventListener('peer:disconnect', this.onDisconnect)
    await node.unhandle([COMPUTE_OFFER_PROTOCOL, COMPUTE_TASK_PROTOCOL]).catch(() => {})
  }

  serve (service: ComputeService | undefined): void {
    this.service = service
  }

  watch (listener: ComputePeerListener | undefined): void {
    this.listener = listener
  }

  /** Whether the trust policy lets this node send tasks to a peer (and so take its results). */
  mayDispatchTo (peer: string): boolean {
    return this.deps.trust.mode !== 'none' && this.deps.trust.isTrusted(peer)
  }

  /** Connected peers that speak the task protocol and that tasks may go to. */
  async peers (): Promise<string[]> {
    const { node } = this.deps
    const out: string[] = []
    for (const peer of node.getPeers()) {
      if (!this.mayDispatchTo(peer.toString())) continue
      const protocols = await node.peerStore.get(peer).then(p => p.protocols, () => [] as string[])
      if (protocols.includes(COMPUTE_TASK_PROTOCOL)) out.push(peer.toString())
    }
    return out
  }

  /** A peer's offer; throws when the peer is not one tasks may go to, refuses, or sends nothing valid. */
  async offer (peer: string, signal: AbortSignal): Promise<ComputeOffer> {
    this.checkDispatchable(peer)
    const stream = await this.deps.node.dialProtocol(peerIdFromString(peer), COMPUTE_OFFER_PROTOCOL, { signal })
    try {
      await send(stream, OFFER_REQUEST, signal)
      for await (const message of readLengthPrefixed(stream, MAX_OFFER_BYTES)) {
        await stream.close({ signal }).catch(() => {})
        return decodeOffer(message)
      }
      throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'the peer closed the offer stream without an offer')
    } catch (err) {
      stream.abort(asError(err))
      throw err
    }
  }

  /**
   * Sends a task to a peer and waits for its answer; `onStarted` when the peer says it has
   * started it. When `signal` aborts, the peer is sent a cancel and the stream is closed.
   * Throws when the peer is not one tasks may go to, the stream fails, or the answer is malformed.
   */
  async dispatch (peer: string, request: RemoteTaskRequest, opts: { signal: AbortSignal, onStarted: () => void }): Promise<RemoteTaskAnswer> {
    this.checkDispatchable(peer)
    const { signal } = opts
    const instruction = request.instruction.toString()
    const bytes = encodeTaskRequest(request)
    if (bytes.byteLength > MAX_TASK_REQUEST_BYTES) throw new NetworkError(NetworkErrorCode.RECORD_TOO_LARGE, `the task and its inputs take ${bytes.byteLength} bytes, more than a peer takes (${MAX_TASK_REQUEST_BYTES})`)
    const stream = await this.deps.node.dialProtocol(peerIdFromString(peer), COMPUTE_TASK_PROTOCOL, { signal })
    const onAbort = (): void => {
      // the cancel goes out before the stream is torn down; the peer also stops when the stream ends
      stream.send(lengthPrefixed(CANCEL_MESSAGE))
      stream.abort(asError(signal.reason))
    }
    try {
      await send(stream, bytes, signal)
      this.deps.events.emit('task_dispatched', { instruction, peer_id: peer, ran: request.ran.toString() })
      signal.addEventListener('abort', onAbort, { once: true })
      if (signal.aborted) onAbort()
      for await (const message of readLengthPrefixed(stream, MAX_TASK_ANSWER_BYTES)) {
        const decoded = decodeExecutorMessage(message)
        if ('started' in decoded) {
          opts.onStarted()
          continue
        }
        this.deps.events.emit('task_result_received', { instruction, ok: 'receipt' in decoded && decoded.receipt.out[0] === 'ok', peer_id: peer, ran: request.ran.toString() })
        await stream.close({ signal }).catch(() => {})
        return decoded
      }
      throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'the peer closed the task stream without an answer')
    } catch (err) {
      if (signal.aborted) throw new NetworkError(NetworkErrorCode.ABORTED, 'the task was withdrawn from the peer', undefined, { cause: signal.reason })
      stream.abort(asError(err))
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private checkDispatchable (peer: string): void {
    if (!this.mayDispatchTo(peer)) throw new NetworkError(NetworkErrorCode.PEER_NOT_TRUSTED, `peer ${peer} is not trusted: no task goes to it`, { peer })
  }

  /** The service, when it takes work from this peer; a peer it does not is refused before anything it sent is read. */
  private serviceFor (stream: Stream, connection: Connection): ComputeService | undefined {
    const service = this.service
    if (service !== undefined && service.accepts(connection.remotePeer.toString())) return service
    stream.abort(new Error('this node does not run tasks for this peer'))
    return undefined
  }

  private async serveOffer (stream: Stream, connection: Connection): Promise<void> {
    const service = this.serviceFor(stream, connection)
    if (service === undefined) return
    try {
      for await (const message of readLengthPrefixed(stream, MAX_CONTROL_BYTES)) {
        void message
        break
      }
      await send(stream, encodeOffer(service.offer(connection.remotePeer.toString())))
      await stream.close().catch(() => {})
    } catch (err) {
      this.deps.logger.debug({ peer: connection.remotePeer.toString(), err: errorMessage(err) }, 'compute offer request failed')
      stream.abort(asError(err))
    }
  }

  private async serveTask (stream: Stream, connection: Connection): Promise<void> {
    const service = this.serviceFor(stream, connection)
    if (service === undefined) return
    const peer = connection.remotePeer.toString()
    const gone = new AbortController()
    try {
      const messages = readLengthPrefixed(stream, MAX_TASK_REQUEST_BYTES)
      const first = await messages.next()
      if (first.done === true) return
      const request = decodeTaskRequest(first.value)
      this.deps.events.emit('task_received', { instruction: request.instruction.toString(), peer_id: peer, ran: request.ran.toString() })
      // what the requester sends later: a cancel, or the end of the stream (it gave up, or went)
      void (async () => {
        try {
          for await (const later of messages) if (isCancel(later)) break
        } catch {
          // a reset stream: the requester is gone
        }
        gone.abort(new NetworkError(NetworkErrorCode.ABORTED, 'the requester cancelled the task'))
      })()
      const answer = await service.run(peer, request, {
        signal: gone.signal,
        started: () => { if (!gone.signal.aborted) stream.send(lengthPrefixed(STARTED_MESSAGE)) }
      })
      if (gone.signal.aborted) {
        stream.abort(asError(gone.signal.reason))
        return
      }
      let bytes = encodeTaskAnswer(answer)
      if (bytes.byteLength > MAX_TASK_ANSWER_BYTES) bytes = encodeTaskAnswer({ error: { code: NetworkErrorCode.RECORD_TOO_LARGE, message: `the result takes ${bytes.byteLength} bytes, more than a peer takes (${MAX_TASK_ANSWER_BYTES})` } })
      await send(stream, bytes)
      await stream.close().catch(() => {})
    } catch (err) {
      this.deps.logger.debug({ peer, err: errorMessage(err) }, 'serving a peer\'s task failed')
      gone.abort(err)
      stream.abort(asError(err))
    }
  }
}

async function send (stream: Stream, message: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(lengthPrefixed(message))) await stream.onDrain(signal !== undefined ? { signal } : {})
}

function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
