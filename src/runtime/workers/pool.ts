import type { ResourceLimits, Worker } from 'node:worker_threads'
import type { Logger } from '../../util/logger.js'
import type { Artifact } from '../artifacts/artifact.js'
import { RuntimeError, RuntimeErrorCode, runtimeErrorFromObject } from '../errors.js'
import type { WasmLog } from '../host.js'
import type { CallOutcome, CallRequest, FromWorker, ToWorker } from './protocol.js'
import { spawnRuntimeWorker } from './worker-spawn.js'

export interface WorkerPoolOptions {
  size: number
  resourceLimits: ResourceLimits
}

/** A failed call, with what the guest logged before failing. */
export class CallFailure extends Error {
  constructor (readonly error: RuntimeError, readonly logs: WasmLog[]) {
    super(error.message)
  }
}

interface Job {
  id: number
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
}

interface Slot {
  index: number
  worker: Worker
  ready: boolean
  /** Replaced by a new worker: its exit must not trigger another respawn. */
  retired: boolean
  job?: Job
  keys: Set<string>
  lastError?: Error
}

/** setTimeout's maximum delay. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Workers that die before becoming ready this many times in a row fail the queued calls. */
const MAX_START_FAILURES = 5

/**
 * A fixed set of worker threads running Wasm calls, one call per worker at a time.
 * A call that times out or is aborted terminates its worker, which is replaced at
 * once; a worker that dies is replaced too. The main thread only posts messages and
 * never runs guest code.
 */
export class WorkerPool {
  private slots: Slot[] = []
  private readonly queue: Job[] = []
  private running = false
  private nextId = 1
  private startFailures = 0

  constructor (private readonly options: WorkerPoolOptions, private readonly components: { logger: Logger }) {}

  start (): void {
    if (this.running) return
    this.running = true
    this.slots = Array.from({ length: this.options.size }, (_, i) => this.spawn(i))
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    const stopped = new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is stopping')
    for (const job of this.queue.splice(0)) this.settle(job, new CallFailure(stopped, []))
    for (const slot of this.slots) {
      if (slot.job !== undefined) this.settle(slot.job, new CallFailure(stopped, []))
      slot.retired = true
    }
    await Promise.all(this.slots.map(async slot => slot.worker.terminate()))
    this.slots = []
  }

  /** Runs a call; rejects with a `CallFailure`. */
  async run (request: CallRequest, artifact: Artifact, timeoutMs: number, signal?: AbortSignal): Promise<CallOutcome> {
    return new Promise<CallOutcome>((resolve, reject) => {
      const job: Job = { id: this.nextId++, request, artifact, timeoutMs, resolve, reject, settled: false }
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
      this.queue.push(job)
      this.pump()
    })
  }

  /** Drops an artifact from every worker (the runner evicted it). */
  forget (key: string): void {
    for (const slot of this.slots) {
      if (slot.keys.delete(key)) slot.worker.postMessage({ type: 'forget', key } satisfies ToWorker)
    }
  }

  private spawn (index: number): Slot {
    // Referenced while starting or busy, so a pending call keeps the process alive.
    const worker = spawnRuntimeWorker(this.options.resourceLimits)
    const slot: Slot = { index, worker, ready: false, retired: false, keys: new Set() }
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
    slot.job = undefined
    slot.worker.unref()
    if (message.type === 'done') this.settle(job, message.outcome)
    else this.settle(job, new CallFailure(runtimeErrorFromObject(message.error), message.logs ?? []))
    this.pump()
  }

  private onExit (slot: Slot, code: number): void {
    if (slot.retired || !this.running) return
    slot.retired = true
    const reason = slot.lastError?.message ?? `exit code ${code}`
    this.components.logger.warn({ worker: slot.index, reason }, 'Wasm worker died, replacing it')
    if (slot.job !== undefined) {
      const crashed = new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `the Wasm worker died: ${reason}`,
        { reason, ...(slot.lastError !== undefined && 'code' in slot.lastError ? { errorCode: slot.lastError.code } : {}) })
      this.settle(slot.job, new CallFailure(crashed, []))
      slot.job = undefined
    }
    if (!slot.ready && ++this.startFailures >= MAX_START_FAILURES) {
      const failed = new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `Wasm workers cannot start: ${reason}`, { reason })
      for (const job of this.queue.splice(0)) this.settle(job, new CallFailure(failed, []))
    }
    const delayMs = this.startFailures === 0 ? 0 : Math.min(100 * 2 ** this.startFailures, 10_000)
    const respawn = setTimeout(() => {
      if (this.running && this.slots[slot.index] === slot) this.slots[slot.index] = this.spawn(slot.index)
    }, delayMs)
    if (this.queue.length === 0) respawn.unref()
  }

  /** Terminates the worker running `job` (timeout or abort) and puts a fresh one in its place. */
  private kill (slot: Slot, job: Job, error: RuntimeError): void {
    this.settle(job, new CallFailure(error, []))
    slot.job = undefined
    slot.retired = true
    void slot.worker.terminate()
    if (this.running) this.slots[slot.index] = this.spawn(slot.index)
  }

  private abort (job: Job): void {
    if (job.settled) return
    const queued = this.queue.indexOf(job)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      this.settle(job, new CallFailure(cancelled(), []))
    } else if (job.slot !== undefined && job.slot.job === job) {
      this.kill(job.slot, job, cancelled())
    }
  }

  private pump (): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find(s => s.ready && !s.retired && s.job === undefined)
      if (slot === undefined) return
      this.dispatch(slot, this.queue.shift() as Job)
    }
  }

  private dispatch (slot: Slot, job: Job): void {
    slot.job = job
    job.slot = slot
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
