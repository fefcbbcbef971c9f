import type { PrivateKey } from '@libp2p/interface'
import { errorMessage, isIpvmError } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { Semaphore } from '../util/semaphore.js'
import { receiptCid, type Ipld, type Receipt } from '../ipld/index.js'
import type { ComputeMetrics } from '../metrics/index.js'
import { inputsDigest, signDispatchedReceipt, type ComputeOffer, type ComputeService, type RemoteTaskAnswer, type RemoteTaskRequest, type TrustPolicy } from '../network/index.js'
import { readSentTask, runTask, sentOutputs, type PrepareOptions, type ResourceFetcher, type TaskRunner } from '../workflow/index.js'
import { ComputeError, ComputeErrorCode } from './errors.js'
import type { ComputeOptions } from './options.js'

/**
 * For tests only: alters what this node's executor returns to peers (a dishonest executor).
 * Nothing in the settings, the command line or the API reaches it.
 */
export interface ExecutorFaults {
  output?: (output: Ipld, func: string) => Ipld
}

export interface ExecutorComponents {
  trust: Pick<TrustPolicy, 'isNamed'>
  runner: TaskRunner
  resources: ResourceFetcher
  privateKey: PrivateKey
  /** This node's limits: a peer's task gets them as this node's own tasks do. */
  limits: PrepareOptions & { maxMemoryBytes: number }
  /** URL schemes of resources this node can fetch. */
  schemes: string[]
  /** Wasm calls queued on this node's workers now (its own runs' and peers'). */
  localQueued?: () => number
  logger: Logger
  metrics?: ComputeMetrics
  faults?: ExecutorFaults
}

/** The kinds of Wasm and the host interfaces this node runs. */
const FEATURES = ['component', 'core', 'wasi:logging', 'homestar:host/helpers']

/**
 * Runs peers' tasks: only for the peers `compute.accept` admits, at most
 * `maxInFlightPerPeer` of one peer's at once and `workers` in all, with `maxQueuedRemote`
 * waiting (more are refused as busy). A task is read as this node reads its own (its CIDs
 * computed here, this node's timeout and memory limits), its Wasm and files fetched from the
 * store or from peers (the requester has them), run on the shared workers in a group of its
 * peer's, and its receipt signed for the requester.
 */
export class Executor implements ComputeService {
  private readonly slots: Semaphore
  private readonly perPeer = new Map<string, number>()
  private inFlight = 0

  constructor (private readonly opts: ComputeOptions, private readonly c: ExecutorComponents) {
    this.slots = new Semaphore(opts.workers)
    c.metrics?.remoteInFlight.setCollector(() => this.inFlight)
  }

  /** Peers' tasks running or queued here now. */
  get running (): number {
    return this.inFlight
  }

  accepts (peer: string): boolean {
    const { accept } = this.opts
    return accept === 'any' || (accept === 'trusted' && this.c.trust.isNamed(peer))
  }

  offer (peer: string): ComputeOffer {
    return {
      features: FEATURES,
      schemes: this.c.schemes,
      maxTimeoutMs: this.c.limits.maxTimeoutMs,
      maxMemoryBytes: this.c.limits.maxMemoryBytes,
      workers: this.opts.workers,
      freeSlots: this.slots.free,
      queued: this.slots.waiting + (this.c.localQueued?.() ?? 0),
      maxQueued: this.opts.maxQueuedRemote,
      maxInFlightPerPeer: this.opts.maxInFlightPerPeer,
      yours: this.perPeer.get(peer) ?? 0
    }
  }

  async run (peer: string, request: RemoteTaskRequest, ctl: { signal: AbortSignal, started: () => void }): Promise<RemoteTaskAnswer> {
    const mine = this.perPeer.get(peer) ?? 0
    if (mine >= this.opts.maxInFlightPerPeer || (this.slots.free === 0 && this.slots.waiting >= this.opts.maxQueuedRemote)) {
      this.c.metrics?.served.inc({ outcome: 'busy' })
      return failure(new ComputeError(ComputeErrorCode.BUSY, 'this node has as many of this peer\'s tasks, or of peers\' tasks waiting, as it takes'))
    }
    this.perPeer.set(peer, mine + 1)
    this.inFlight++
    let release: (() => void) | undefined
    try {
      const p = readSentTask(request.task, request, this.c.limits)
      release = await this.slots.acquire(ctl.signal)
      ctl.started()
      let output = await runTask(this.c, p, sentOutputs(request.awaited), ctl.signal, `peer:${peer}`)
      output = this.c.faults?.output?.(output, p.func) ?? output
      const receipt: Receipt = { ran: p.ran, out: ['ok', output], meta: { op: p.func }, iss: null, prf: [] }
      const signature = await signDispatchedReceipt(this.c.privateKey, receiptCid(receipt), p.instruction, inputsDigest(request.awaited))
      this.c.metrics?.served.inc({ outcome: 'ok' })
      return { receipt, signature }
    } catch (err) {
      const cancelled = ctl.signal.aborted
      this.c.metrics?.served.inc({ outcome: cancelled ? 'cancelled' : 'error' })
      this.c.logger.debug({ peer, instruction: request.instruction.toString(), cancelled, err: errorMessage(err) }, 'a peer\'s task did not succeed here')
      return failure(err)
    } finally {
      release?.()
      this.inFlight--
      const n = (this.perPeer.get(peer) ?? 1) - 1
      if (n <= 0) this.perPeer.delete(peer)
      else this.perPeer.set(peer, n)
    }
  }
}

function failure (err: unknown): RemoteTaskAnswer {
  return { error: { code: isIpvmError(err) ? err.code : ComputeErrorCode.INVALID_TASK, message: errorMessage(err) } }
}
