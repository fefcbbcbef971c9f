import type { ResourceLimits, Worker } from 'node:worker_threads'
import type { Logger } from '../../util/logger.js'
import { RoundRobinQueue } from '../../util/round-robin.js'
import type { Artifact } from '../artifacts/artifact.js'
import { RuntimeError, RuntimeErrorCode, runtimeErrorFromObject } from '../errors.js'
import type { WasmLog } from '../host.js'
import type { CallOutcome, CallRequest, FromWorker, ToWorker } from './protocol.js'
import { spawnRuntimeWorker } from './worker-spawn.js'

export interface WorkerPoolOptions {
  /** Workers always running. */
  size: number
  resourceLimits: ResourceLimits
  /** Workers beyond `size` that may be started for groups left without one (relief). @default size */
  maxExtraWorkers?: number
  /** How long every busy worker's call must have run before a group left without a worker gets an extra one. @default 1000 */
  reliefAfterMs?: number
}

/** A failed call, with what the guest logged before failing. */
export class CallFailure extends Error {
  constructor (readonly error: RuntimeError, readonly logs: WasmLog[]) {
    super(error.message)
  }
}

/** How many workers there are and what they do, for tests and diagnostics. */
export interface PoolStats {
  /** Worker threads alive or starting, extra ones included. */
  workers: number
  /** Extra workers among them. */
  extra: number
  /** Workers running a call. */
  busy: number
  /** Calls waiting for a worker. */
  queued: number
  /** Workers each group holds. */
  groups: Record<string, number>
}

interface Job {
  id: number
  group: string
  request: CallRequest
  artifact: Artifact
  timeoutMs: number
  signal?: AbortSignal
  resolve: (outcome: CallOutcome) => void
  reject: (failure: CallFailure) => void
  settled: boolean
  timer?: NodeJS.Timeout
  slot?: Slot
  onAbort?: () => void
  /** When a worker started it (performance.now()). */
  startedAt?: number
}

interface Slot {
  id: number
  worker: Worker
  ready: boolean
  /** Replaced by a new worker, or let go: its exit must not trigger another respawn. */
  retired: boolean
  /** Started beyond `size` for a group left without a worker; stopped once idle. */
  extra: boolean
  job?: Job
  keys: Set<string>
  lastError?: Error
}

/** setTimeout's maximum delay. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Workers that die before becoming ready this many times in a row fail the queued calls. */
const MAX_START_FAILURES = 5
const DEFAULT_RELIEF_AFTER_MS = 1000

/**
 * A set of worker threads running Wasm calls, one call per worker at a time. A call that
 * times out or is aborted terminates its worker, which is replaced at once; a worker that
 * dies is replaced too. The main thread only posts messages and never runs guest code.
 *
 * Calls belong to groups (the workflow runs), and the workers are shared between groups:
 * the queue is served a group at a time in turn; with more than one worker, a group holds
 * at most `size - 1` of them while another group has calls waiting; and when a group has
 * calls waiting but no worker, while every worker has been busy for `reliefAfterMs` with
 * calls that may never end, an extra worker is started for it (at most `maxExtraWorkers`),
 * and the operating system shares the processors between the threads. An extra worker
 * serves only groups holding no worker and stops once idle. So calls that loop until their
 * timeout slow others down but cannot stop them, up to `size + maxExtraWorkers` such groups.
 */
export class WorkerPool {
  private slots: Slot[] = []
  private readonly queue = new RoundRobinQueue<string, Job>()
  /** Workers each group holds. */
  private readonly held = new Map<string, number>()
  private running = false
  private nextId = 1
  private nextWorkerId = 0
  private startFailures = 0
  private reliefTimer?: NodeJS.Timeout
  private readonly maxExtra: number
  private readonly reliefAfterMs: number

  constructor (private readonly options: WorkerPoolOptions, private readonly components: { logger: Logger }) {
    this.maxExtra = options.maxExtraWorkers ?? options.size
    this.reliefAfterMs = options.reliefAfterMs ?? DEFAULT_RELIEF_AFTER_MS
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.slots = Array.from({ length: this.options.size }, () => this.spawn(false))
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.reliefTimer)
    const stopped = new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is stopping')
    for (const job of this.queue.drain()) this.settle(job, new CallFailure(stopped, []))
    for (const slot of this.slots) {
      if (slot.job !== undefined) this.settle(slot.job, new CallFailure(stopped, []))
      slot.retired = true
    }
    await Promise.all(this.slots.map(async slot => slot.worker.terminate()))
    this.slots = []
    this.held.clear()
  }

  /** Runs a call for `group`; rejects with a `CallFailure`. */
  async run (request: CallRequest, artifact: Artifact, timeoutMs: number, signal?: AbortSignal, group = ''): Promise<CallOutcome> {
    return new Promise<CallOutcome>((resolve, reject) => {
      const job: Job = { id: this.nextId++, group, request, artifact, timeoutMs, resolve, reject, settled: false }
      if (!this.running) {
        this.settle(job, new CallFailure(new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is not started'), []))
        return
      }
      if (signal !== undefined) {
        if (signal.aborted) {
          this.settle(job, new CallFailure(cancelled(), []))
          return
        }
        job.signal = signal
        job.onAbort = () => this.abort(job)
        signal.addEventListener('abort', job.onAbort, { once: true })
      }
      this.queue.push(group, job)
      this.pump()
    })
  }

  /** Drops an artifact from every worker (the runner evicted it). */
  forget (key: string): void {
    for (const slot of this.slots) {
      if (slot.keys.delete(key)) slot.worker.postMessage({ type: 'forget', key } satisfies ToWorker)
    }
  }

  stats (): PoolStats {
    const live = this.slots.filter(s => !s.retired)
    return { workers: live.length, extra: live.filter(s => s.extra).length, busy: live.filter(s => s.job !== undefined).length, queued: this.queue.size, groups: Object.fromEntries(this.held) }
  }

  private spawn (extra: boolean): Slot {
    // Referenced while starting or busy, so a pending call keeps the process alive.
    const worker = spawnRuntimeWorker(this.options.resourceLimits)
    const slot: Slot = { id: this.nextWorkerId++, worker, ready: false, retired: false, extra, keys: new Set() }
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message))
    worker.on('error', (err: Error) => { slot.lastError = err })
    worker.on('exit', code => this.onExit(slot, code))
    return slot
  }

  private onMessage (slot: Slot, message: FromWorker): void {
    if (message.type === 'ready') {
      slot.ready = true
      this.startFailures = 0
      this.pump()
      if (slot.job === undefined) slot.worker.unref()
      return
    }
    const job = slot.job
    if (job === undefined || (message.type !== 'done' && message.type !== 'failed') || message.id !== job.id) return
    this.vacate(slot)
    slot.worker.unref()
    if (message.type === 'done') this.settle(job, message.outcome)
    else this.settle(job, new CallFailure(runtimeErrorFromObject(message.error), message.logs ?? []))
    this.pump()
  }

  private onExit (slot: Slot, code: number): void {
    if (slot.retired || !this.running) return
    slot.retired = true
    const reason = slot.lastError?.message ?? `exit code ${code}`
    this.components.logger.warn({ worker: slot.id, reason }, 'Wasm worker died, replacing it')
    const job = slot.job
    if (job !== undefined) {
      this.vacate(slot)
      const crashed = new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `the Wasm worker died: ${reason}`,
        { reason, ...(slot.lastError !== undefined && 'code' in slot.lastError ? { errorCode: slot.lastError.code } : {}) })
      this.settle(job, new CallFailure(crashed, []))
    }
    if (!slot.ready && ++this.startFailures >= MAX_START_FAILURES) {
      const failed = new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `Wasm workers cannot start: ${reason}`, { reason })
      for (const queued of this.queue.drain()) this.settle(queued, new CallFailure(failed, []))
    }
    if (slot.extra) {
      // relief is planned again from what is queued
      this.remove(slot)
      this.pump()
      return
    }
    const delayMs = this.startFailures === 0 ? 0 : Math.min(100 * 2 ** this.startFailures, 10_000)
    const respawn = setTimeout(() => { if (this.running) this.replace(slot) }, delayMs)
    if (this.queue.size === 0) respawn.unref()
  }

  /** Terminates the worker running `job` (timeout or abort) and puts a fresh one in its place. */
  private kill (slot: Slot, job: Job, error: RuntimeError): void {
    this.vacate(slot)
    this.settle(job, new CallFailure(error, []))
    slot.retired = true
    void slot.worker.terminate()
    if (!this.running) return
    if (slot.extra) {
      this.remove(slot)
      this.pump()
    } else {
      this.replace(slot)
    }
  }

  private abort (job: Job): void {
    if (job.settled) return
    if (this.queue.remove(job.group, job)) {
      this.settle(job, new CallFailure(cancelled(), []))
      this.planRelief()
    } else if (job.slot !== undefined && job.slot.job === job) {
      this.kill(job.slot, job, cancelled())
    }
  }

  /** Hands queued calls to idle workers, groups in turn, within each group's share; then lets idle extra workers go and plans relief. */
  private pump (): void {
    if (!this.running) return
    while (this.queue.size > 0) {
      const base = this.idle(false)
      const job = base !== undefined ? this.queue.take(group => this.mayTakeAnother(group)) : undefined
      if (base !== undefined && job !== undefined) {
        this.dispatch(base, job)
        continue
      }
      const extra = this.idle(true)
      const starved = extra !== undefined ? this.queue.take(group => this.holding(group) === 0) : undefined
      if (extra === undefined || starved === undefined) break
      this.dispatch(extra, starved)
    }
    for (const slot of this.slots) {
      if (slot.extra && slot.ready && !slot.retired && slot.job === undefined) this.retire(slot)
    }
    this.planRelief()
  }

  private idle (extra: boolean): Slot | undefined {
    return this.slots.find(s => s.extra === extra && s.ready && !s.retired && s.job === undefined)
  }

  private holding (group: string): number {
    return this.held.get(group) ?? 0
  }

  /** With more than one worker, a group keeps one free for the others while they have calls waiting. */
  private mayTakeAnother (group: string): boolean {
    return this.options.size <= 1 || this.holding(group) < this.options.size - 1 || !this.queue.othersWaiting(group)
  }

  /**
   * Starts extra workers for the groups that have calls waiting and no worker, once every
   * busy worker's call has run `reliefAfterMs`; or sets a timer for when that will be.
   */
  private planRelief (): void {
    clearTimeout(this.reliefTimer)
    this.reliefTimer = undefined
    let starved = 0
    for (const group of this.queue.keys()) if (this.holding(group) === 0) starved++
    if (starved === 0) return
    const live = this.slots.filter(s => !s.retired)
    // workers on their way will take them
    const starting = live.filter(s => !s.ready).length
    const extras = live.filter(s => s.extra).length
    const wanted = Math.min(starved - starting, this.maxExtra - extras)
    if (wanted <= 0) return
    let youngest = -Infinity
    for (const s of live) if (s.job?.startedAt !== undefined) youngest = Math.max(youngest, s.job.startedAt)
    if (youngest === -Infinity) return
    const waitMs = youngest + this.reliefAfterMs - performance.now()
    if (waitMs > 0) {
      this.reliefTimer = setTimeout(() => this.pump(), Math.ceil(waitMs))
      this.reliefTimer.unref()
      return
    }
    this.components.logger.debug({ extra: extras + wanted, starved }, 'every Wasm worker is busy with long calls: starting extra workers for the runs left without one')
    for (let i = 0; i < wanted; i++) this.slots.push(this.spawn(true))
  }

  private dispatch (slot: Slot, job: Job): void {
    slot.job = job
    job.slot = slot
    job.startedAt = performance.now()
    this.held.set(job.group, this.holding(job.group) + 1)
    const { key } = job.request
    const artifact = slot.keys.has(key) ? undefined : job.artifact
    slot.keys.add(key)
    slot.worker.ref()
    slot.worker.postMessage({ type: 'run', id: job.id, request: job.request, ...(artifact !== undefined ? { artifact } : {}) } satisfies ToWorker)
    job.timer = setTimeout(() => {
      if (slot.job === job) {
        this.kill(slot, job, new RuntimeError(RuntimeErrorCode.TIMEOUT, `the Wasm call ran longer than ${job.timeoutMs} ms`, { timeoutMs: job.timeoutMs }))
      }
    }, Math.min(Math.max(job.timeoutMs, 0), MAX_TIMER_MS))
  }

  /** The slot's call is over: its group holds one worker fewer. */
  private vacate (slot: Slot): void {
    const job = slot.job
    if (job === undefined) return
    slot.job = undefined
    const n = this.holding(job.group) - 1
    if (n <= 0) this.held.delete(job.group)
    else this.held.set(job.group, n)
  }

  /** A fresh base worker in place of `slot`. */
  private replace (slot: Slot): void {
    const i = this.slots.indexOf(slot)
    if (i >= 0) this.slots[i] = this.spawn(false)
  }

  /** Lets an idle extra worker go. */
  private retire (slot: Slot): void {
    slot.retired = true
    void slot.worker.terminate()
    this.remove(slot)
  }

  private remove (slot: Slot): void {
    this.slots = this.slots.filter(s => s !== slot)
  }

  private settle (job: Job, result: CallOutcome | CallFailure): void {
    if (job.settled) return
    job.settled = true
    if (job.timer !== undefined) clearTimeout(job.timer)
    if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort)
    if (result instanceof CallFailure) job.reject(result)
    else job.resolve(result)
  }
}

function cancelled (): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.CANCELLED, 'the Wasm call was cancelled')
}
