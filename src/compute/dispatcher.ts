import { errorMessage, isIpvmError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { receiptCid, type Ipld } from '../ipld/index.js'
import type { ComputeMetrics, DispatchFailure, ReceiptMetrics } from '../metrics/index.js'
import { inputsDigest, NetworkErrorCode, verifyDispatchedReceipt, type ComputeOffer, type Network } from '../network/index.js'
import type { DispatchedResult, DispatchHooks, ReadyTask, ResourceFetcher, ResultTypes, TaskDispatcher } from '../workflow/index.js'
import { ComputeError, ComputeErrorCode } from './errors.js'
import type { OfferBook } from './offers.js'
import { parseVerify, type ComputeOptions, type VerifyPolicy } from './options.js'
import { PeerLabels } from './peer-labels.js'
import { choose, type Target } from './placement.js'
import { runReplicated, type Replicas } from './replicate.js'
import { checkAnswer, expectedReceipt, sameOutput } from './verify.js'
import { Busy, isWithdrawn, type PeerResult } from './tries.js'

export type DispatchNetwork = Pick<Network, 'dispatchTask' | 'mayDispatchTo' | 'reportConflict'>

export interface DispatcherComponents {
  network: DispatchNetwork
  book: OfferBook
  resources: ResourceFetcher
  resultTypes?: ResultTypes
  /** Peers' tasks running here now (they load this node as its own do). */
  servedHere: () => number
  logger: Logger
  metrics?: { compute: ComputeMetrics, receipts: ReceiptMetrics }
}


/**
 * Sends ready tasks to peers as placement says, and checks what comes back: the answer must
 * be the receipt this node would write for the task, signed by the peer it came from, from a
 * peer the trust policy trusts, with a result of the type the task's Wasm declares (when the
 * Wasm is here); `compute.verify` may ask for more (a sample run here too, or replicas). A peer
 * that fails, times out, disconnects or answers something invalid costs an attempt and the
 * task goes to another peer or runs here; a task a peer has not started comes back while its
 * run is paused; cancelling the run cancels it on the peer.
 */
export class Dispatcher implements TaskDispatcher, Replicas {
  private readonly verify: VerifyPolicy
  private readonly labels = new PeerLabels()
  private localInFlight = 0
  private turn = 0

  constructor (private readonly opts: ComputeOptions, private readonly c: DispatcherComponents) {
    this.verify = parseVerify(opts.verify)
  }

  async execute (task: ReadyTask, hooks: DispatchHooks): Promise<DispatchedResult> {
    const policy = task.verify !== undefined ? parseVerify(task.verify) : this.verify
    if (policy.kind === 'replicate' && policy.k > 1) return await runReplicated(this, task, hooks, policy.k)
    const excluded = new Set<string>()
    let faults = 0
    for (;;) {
      const target = this.place(task, excluded) ?? { kind: 'here' }
      if (target.kind === 'here') return { output: await this.here(hooks), vouchers: [], computedHere: true }
      let got: PeerResult
      try {
        got = await this.onPeer(target.peer, task, hooks)
      } catch (err) {
        if (task.signal.aborted) throw err
        if (isWithdrawn(err)) {
          await hooks.whenUnpaused()
          continue
        }
        // a task too large to send runs here
        if (isIpvmError(err) && err.code === NetworkErrorCode.RECORD_TOO_LARGE) return { output: await this.here(hooks), vouchers: [], computedHere: true }
        excluded.add(target.peer)
        if (err instanceof Busy) continue
        hooks.onFault(target.peer, err)
        // after a few peers failed it, the task runs here
        if (++faults >= this.opts.maxRemoteTries) for (const peer of this.allPeers()) excluded.add(peer)
        continue
      }
      if (policy.kind === 'sample' && Math.random() < policy.fraction) return await this.sampled(task, got, hooks)
      return { output: got.output, executor: got.peer, vouchers: [got.peer], computedHere: false }
    }
  }

  /** Where the next try of a task goes, among the peers with room and here; undefined when nowhere is left. */
  place (task: ReadyTask, excluded: ReadonlySet<string>): Target | undefined {
    const fits = (offer: ComputeOffer): boolean => offer.schemes.includes(schemeOf(task.rsc)) && task.timeoutMs <= offer.maxTimeoutMs && task.memoryBytes <= offer.maxMemoryBytes
    return choose({
      mode: task.placement,
      local: { inFlight: this.localInFlight + this.c.servedHere(), capacity: this.opts.workers },
      peers: this.c.book.slots(this.opts.maxInFlightPerPeer, fits),
      excluded,
      turn: this.turn++
    })
  }

  /** Runs the task here, counted in this node's load. */
  async here (hooks: DispatchHooks): Promise<Ipld> {
    this.localInFlight++
    try {
      return await hooks.runLocal()
    } finally {
      this.localInFlight--
    }
  }

  /**
   * One try on a peer: sent, timed (`dispatchTimeoutMs` to start it, then the task's timeout
   * and `dispatchTimeoutMs` more to answer), withdrawn when the run is paused before the peer
   * started it, and the answer checked. Throws what went wrong.
   */
  async onPeer (peer: string, task: ReadyTask, hooks: DispatchHooks, signal: AbortSignal = task.signal): Promise<PeerResult> {
    const label = { peer: this.labels.of(peer) }
    const metrics = this.c.metrics?.compute
    const stopTimer = metrics?.latencySeconds.startTimer(label)
    const inputs = inputsDigest(task.awaited)
    const stop = new AbortController()
    const pause = hooks.pauseSignal()
    let started = false
    const timeout = (what: string): void => { stop.abort(new ComputeError(ComputeErrorCode.TIMEOUT, `peer ${peer} did not ${what} in time`, { peer })) }
    let timer = setTimeout(() => { timeout('start the task') }, this.opts.dispatchTimeoutMs)
    const onPause = (): void => { if (!started) stop.abort(new ComputeError(ComputeErrorCode.WITHDRAWN, 'the run is paused: the task comes back from the peer')) }
    pause.addEventListener('abort', onPause, { once: true })
    if (pause.aborted) onPause()
    this.c.book.take(peer)
    metrics?.dispatched.inc(label)
    try {
      const answer = await this.c.network.dispatchTask(peer, { task: task.task.ipld, instruction: task.instruction, ran: task.task.ran, awaited: task.awaited }, {
        signal: AbortSignal.any([signal, stop.signal]),
        onStarted: () => {
          started = true
          clearTimeout(timer)
          timer = setTimeout(() => { timeout('deliver the task') }, task.timeoutMs + this.opts.dispatchTimeoutMs)
        }
      })
      if ('error' in answer) {
        if (answer.error.code === ComputeErrorCode.BUSY) throw new Busy(answer.error.message)
        throw new ComputeError(ComputeErrorCode.REMOTE_FAILED, `peer ${peer}: ${answer.error.message}`, { peer, code: answer.error.code })
      }
      const checked = await checkAnswer(answer, { ran: task.task.ran, instruction: task.instruction, func: task.func, inputs }, peer, verifyDispatchedReceipt)
      if (!checked.ok) throw this.invalid(peer, checked.reason)
      if (!this.c.network.mayDispatchTo(peer)) throw this.invalid(peer, 'untrusted')
      if (await this.wrongType(task, checked.output)) throw this.invalid(peer, 'result_type')
      metrics?.completed.inc(label)
      stopTimer?.()
      return { peer, output: checked.output, cid: checked.cid }
    } catch (err) {
      const reason = stop.signal.aborted && !signal.aborted ? stop.signal.reason as Error : err
      if (!signal.aborted && !isWithdrawn(reason)) {
        const why = failureOf(reason)
        metrics?.failed.inc({ ...label, reason: why })
        if (why === 'timeout' || why === 'disconnected') this.c.book.forget(peer)
        this.c.logger.debug({ peer, instruction: task.instruction.toString(), reason: why, err: errorMessage(reason) }, 'a peer did not deliver a task')
      }
      throw reason
    } finally {
      clearTimeout(timer)
      pause.removeEventListener('abort', onPause)
      this.c.book.release(peer)
    }
  }

  /** A peer's result whose value differs from this node's: a conflict, counted and held against it. */
  conflict (task: ReadyTask, ours: Ipld, theirs: PeerResult): void {
    this.c.metrics?.compute.failed.inc({ peer: this.labels.of(theirs.peer), reason: 'conflict' })
    this.c.network.reportConflict(task.instruction, receiptCid(expectedReceipt({ ran: task.task.ran, func: task.func }, ours)), theirs.cid, theirs.peer)
  }

  /** Every peer an offer is held for (to exclude them all). */
  allPeers (): string[] {
    return this.c.book.info().map(i => i.peer)
  }

  /** `compute.verify = sample:<f>`: the task runs here too; a peer that disagrees is in conflict, and this node's value stands. */
  private async sampled (task: ReadyTask, got: PeerResult, hooks: DispatchHooks): Promise<DispatchedResult> {
    const ours = await this.here(hooks)
    if (sameOutput(ours, got.output)) return { output: ours, executor: got.peer, vouchers: [got.peer], computedHere: true }
    this.conflict(task, ours, got)
    return { output: ours, vouchers: [], computedHere: true }
  }

  private invalid (peer: string, reason: string): ComputeError {
    this.c.metrics?.receipts.invalidFromPeers.inc({ reason })
    return new ComputeError(ComputeErrorCode.INVALID_RESULT, `peer ${peer} answered a task with an invalid result (${reason})`, { peer, reason })
  }

  /** Whether an output cannot be what the task's function returns (known only when its Wasm is here). */
  private async wrongType (task: ReadyTask, output: Ipld): Promise<boolean> {
    const { resultTypes, resources } = this.c
    if (resultTypes === undefined) return false
    let wasm: { bytes: Uint8Array, key: string }
    try {
      wasm = await resources.fetchResource(task.rsc, { signal: task.signal, local: true })
    } catch {
      return false
    }
    return await resultTypes.conforms({ key: wasm.key, wasm: wasm.bytes, func: task.func }, output).catch(() => undefined) === false
  }
}

/** The metrics reason of a failed try. */
function failureOf (err: unknown): DispatchFailure {
  if (err instanceof Busy) return 'busy'
  if (!isIpvmError(err)) return 'disconnected'
  switch (err.code) {
    case ComputeErrorCode.TIMEOUT: return 'timeout'
    case ComputeErrorCode.INVALID_RESULT: return 'invalid'
    case ComputeErrorCode.REMOTE_FAILED: return 'error'
    case NetworkErrorCode.PEER_NOT_TRUSTED: return 'refused'
    case NetworkErrorCode.INVALID_MESSAGE: return 'invalid'
    case NetworkErrorCode.RECORD_TOO_LARGE: return 'error'
    default: return 'disconnected'
  }
}

/** `ipfs` of `ipfs://…`. */
function schemeOf (url: string): string {
  const colon = url.indexOf(':')
  return colon < 0 ? '' : url.slice(0, colon).toLowerCase()
}
