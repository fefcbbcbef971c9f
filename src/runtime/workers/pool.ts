import type { Logger } from '../../util/logger.js'
import { withDefaults } from '../../util/options.js'
import { RoundRobinQueue } from '../../util/round-robin.js'
import type { Artifact } from '../artifacts/artifact.js'
import { RuntimeError, RuntimeErrorCode, runtimeErrorFromObject } from '../errors.js'
import type { CallOutcome, CallRequest, FromWorker, ToWorker } from './protocol.js'
import { CallFailure, cancelled, settle, type Job, type PoolStats, type Slot, type WorkerPoolOptions } from './pool-model.js'
import { spawnRuntimeWorker } from './worker-spawn.js'
import { BusyClock } from './busy-clock.js'
import { GrowthWatch } from './growth.js'
import { planRelief } from './relief.js'
import { LONG_CALL_MS, LONG_CALL_NICENESS, setThreadNiceness, WASM_NICENESS } from './priority.js'

export { CallFailure, type PoolStats, type WorkerPoolOptions } from './pool-model.js'

/** setTimeout's maximum delay. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Workers that die before becoming ready this many times in a row fail the queued calls. */
const MAX_START_FAILURES = 5
/** The defaults of `WorkerPoolOptions` (`maxExtraWorkers`: twice `size`). */
const DEFAULTS = { reliefAfterMs: 250, extraIdleMs: 5000, longCallMs: LONG_CALL_MS, idleMs: 10_000, quietMs: 1000, growAfterMs: 50 }

/**
 * A set of worker threads running Wasm calls, one call per worker at a time. The first worker
 * starts when a call waits for one, each further one (at most `size`, besides the extra ones
 * below) once those running cannot keep up (`GrowthWatch`): short calls that one worker keeps
 * up with hold one thread, not `size`. Workers stop once idle for `idleMs`: an idle node
 * holds none. Once no call has run or waited for `quietMs`, every worker but one stops at
 * once (each holds ~10 MB), and `onQuiet` is called. A call that
 * times out or is aborted terminates its worker; a worker that dies is let go too, and calls
 * still waiting get fresh ones (after a back-off when workers die before they are ready). The
 * main thread only posts messages and never runs guest code.
 *
 * Calls belong to groups (the workflow runs), and the workers are shared between groups:
 * the queue is served a group at a time in turn; with more than one worker, a group holds
 * at most `size - 1` of them while another group has calls waiting; and when a group has
 * calls waiting but no worker, while every worker has been busy for `reliefAfterMs` with
 * calls that may never end, an extra worker is started for it (at most `maxExtraWorkers`),
 * and the operating system shares the processors between the threads. An extra worker
 * serves only groups holding no worker, and stops once it has been idle `extraIdleMs`. When
 * no more may start, a group holding several workers gives one back: its most recent call is
 * stopped and queued again (`planRelief`). So calls that loop until their timeout slow others
 * down but cannot stop them, as long as such groups are no more than the workers.
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
  /** No base worker is started before then (performance.now()), after workers died before being ready. */
  private backoffUntil = 0
  private backoffTimer?: NodeJS.Timeout
  private reliefTimer?: NodeJS.Timeout
  private readonly settings: typeof DEFAULTS & { maxExtraWorkers: number }
  private longCalls = 0
  private quietTimer?: NodeJS.Timeout
  private readonly growth: GrowthWatch
  private worked = false // a call was dispatched since the pool last went quiet

  constructor (private readonly options: WorkerPoolOptions, private readonly components: { logger: Logger }) {
    this.settings = { ...withDefaults(DEFAULTS, options), maxExtraWorkers: options.maxExtraWorkers ?? 2 * options.size }
    this.growth = new GrowthWatch(this.settings.growAfterMs, () => this.pump())
  }

  /** Takes calls from now on; workers start when calls come. */
  start (): void {
    this.running = true
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.reliefTimer)
    clearTimeout(this.backoffTimer)
    clearTimeout(this.quietTimer)
    this.growth.end()
    const stopped = new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is stopping')
    for (const job of this.queue.drain()) settle(job, new CallFailure(stopped, []))
    for (const slot of this.slots) {
      if (slot.job !== undefined) settle(slot.job, new CallFailure(stopped, []))
      slot.retired = true
      clearTimeout(slot.idleTimer)
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
        settle(job, new CallFailure(new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is not started'), []))
        return
      }
      if (signal !== undefined) {
        if (signal.aborted) {
          settle(job, new CallFailure(cancelled(), []))
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
    return { workers: live.length, extra: live.filter(s => s.extra).length, busy: live.filter(s => s.job !== undefined).length, queued: this.queue.size, lowPriority: live.filter(s => s.demoted === true).length, longCalls: this.longCalls, groups: Object.fromEntries(this.held) }
  }

  private spawn (extra: boolean): Slot {
    // Referenced while starting or busy, so a pending call keeps the process alive.
    const clock = new BusyClock()
    const worker = spawnRuntimeWorker(this.options.resourceLimits, clock.buffer)
    const slot: Slot = { id: this.nextWorkerId++, worker, ready: false, retired: false, extra, clock, keys: new Set() }
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message))
    worker.on('error', (err: Error) => { slot.lastError = err })
    worker.on('exit', code => this.onExit(slot, code))
    return slot
  }

  private onMessage (slot: Slot, message: FromWorker): void {
    if (message.type === 'ready') {
      if (message.tid !== undefined) slot.tid = message.tid
      this.startFailures = 0
      // the calls it was started for were taken by another worker meanwhile: it is not needed
      if (this.queue.size === 0 && this.idle(slot.extra) !== undefined) {
        this.retire(slot)
        return
      }
      slot.ready = true
      this.pump()
      if (slot.job === undefined) slot.worker.unref()
      return
    }
    const job = slot.job
    if (job === undefined || (message.type !== 'done' && message.type !== 'failed') || message.id !== job.id) return
    this.vacate(slot)
    slot.worker.unref()
    if (message.type === 'done') settle(job, message.outcome)
    else settle(job, new CallFailure(runtimeErrorFromObject(message.error), message.logs ?? []))
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
      settle(job, new CallFailure(crashed, []))
    }
    if (!slot.ready && ++this.startFailures >= MAX_START_FAILURES) {
      const failed = new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `Wasm workers cannot start: ${reason}`, { reason })
      for (const queued of this.queue.drain()) settle(queued, new CallFailure(failed, []))
    }
    this.remove(slot)
    if (!slot.extra && this.startFailures > 0) {
      const delayMs = Math.min(100 * 2 ** this.startFailures, 10_000)
      this.backoffUntil = performance.now() + delayMs
      clearTimeout(this.backoffTimer)
      this.backoffTimer = setTimeout(() => this.pump(), delayMs)
      if (this.queue.size === 0) this.backoffTimer.unref()
    }
    // waiting calls get a fresh worker, and relief is planned again from what is queued
    this.pump()
  }

  /** Terminates the worker running `job` (timeout or abort) and puts a fresh one in its place. */
  private kill (slot: Slot, job: Job, error: RuntimeError): void {
    this.vacate(slot)
    settle(job, new CallFailure(error, []))
    slot.retired = true
    void slot.worker.terminate()
    if (!this.running) return
    this.remove(slot)
    this.pump()
  }

  private abort (job: Job): void {
    if (job.settled) return
    if (this.queue.remove(job.group, job)) {
      settle(job, new CallFailure(cancelled(), []))
      this.planRelief()
      this.watchQuiet()
    } else if (job.slot !== undefined && job.slot.job === job) {
      this.kill(job.slot, job, cancelled())
    }
  }

  /**
   * Hands queued calls to idle workers, groups in turn, within each group's share; starts
   * workers for calls still waiting; lets idle workers go after a while; and plans relief.
   */
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
    this.grow()
    for (const slot of [...this.slots]) {
      // a worker left at the lowest priority (raising it was refused) takes no more calls
      if (slot.demoted === true && slot.job === undefined && !slot.retired) {
        this.retire(slot)
        continue
      }
      if (slot.ready && !slot.retired && slot.job === undefined && slot.idleTimer === undefined) {
        slot.idleTimer = setTimeout(() => {
          slot.idleTimer = undefined
          if (slot.job === undefined && !slot.retired) this.retire(slot)
        }, slot.extra ? this.settings.extraIdleMs : this.settings.idleMs)
        slot.idleTimer.unref()
      }
    }
    this.planRelief()
    this.watchQuiet()
  }

  /** Once no call runs or waits for `quietMs`: keeps one idle base worker (for `idleMs`), stops the others. */
  private watchQuiet (): void {
    const quiet = (): boolean => this.queue.size === 0 && this.slots.every(s => s.job === undefined)
    if (!this.worked || this.quietTimer !== undefined || !quiet()) return
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined
      if (!this.running || !quiet()) return
      this.worked = false
      const kept = this.slots.find(s => !s.extra && s.ready && !s.retired && s.demoted !== true)
      for (const slot of this.slots.filter(s => s !== kept && s.ready && !s.retired)) this.retire(slot)
      this.options.onQuiet?.()
    }, this.settings.quietMs).unref()
  }

  /**
   * Starts a base worker when calls wait and none runs; with some running, one more (up to
   * `size`) when `GrowthWatch` says they cannot keep up, or at once when `now` (a preempted
   * call waits for the place its worker left).
   */
  private grow (now = false): void {
    const base = this.slots.filter(s => !s.extra && !s.retired)
    if (this.queue.size === 0 || base.some(s => !s.ready) || base.length >= this.options.size) {
      this.growth.end()
      return
    }
    if (performance.now() < this.backoffUntil) return
    if (base.length === 0 || now || this.growth.due(base.map(s => s.clock))) {
      this.growth.end()
      this.slots.push(this.spawn(false))
    }
  }

  private idle (extra: boolean): Slot | undefined {
    return this.slots.find(s => s.extra === extra && s.ready && !s.retired && s.job === undefined && s.demoted !== true)
  }

  private holding (group: string): number {
    return this.held.get(group) ?? 0
  }

  /** With more than one worker, a group keeps one free for the others while they have calls waiting. */
  private mayTakeAnother (group: string): boolean {
    return this.options.size <= 1 || this.holding(group) < this.options.size - 1 || !this.queue.othersWaiting(group)
  }

  /**
   * For the groups that have calls waiting and no worker, once every busy worker's call has
   * run `reliefAfterMs`: starts extra workers, or, when no more may start, takes workers
   * back from groups holding several (`planRelief`); or sets a timer for when to look again.
   */
  private planRelief (): void {
    clearTimeout(this.reliefTimer)
    this.reliefTimer = undefined
    let starved = 0
    for (const group of this.queue.keys()) if (this.holding(group) === 0) starved++
    if (starved === 0) return
    const live = this.slots.filter(s => !s.retired)
    const plan = planRelief({
      workers: live.map(s => ({ ready: s.ready, extra: s.extra, ...(s.job?.startedAt !== undefined ? { busy: { group: s.job.group, since: s.job.startedAt } } : {}) })),
      starved,
      held: this.held,
      maxExtra: this.settings.maxExtraWorkers,
      reliefAfterMs: this.settings.reliefAfterMs,
      now: performance.now()
    })
    if (plan.retryInMs !== undefined) {
      this.reliefTimer = setTimeout(() => this.pump(), plan.retryInMs)
      this.reliefTimer.unref()
      return
    }
    if (plan.spawn > 0) {
      this.components.logger.debug({ extra: live.filter(s => s.extra).length + plan.spawn, starved }, 'every Wasm worker is busy with long calls: starting extra workers for the runs left without one')
      for (let i = 0; i < plan.spawn; i++) this.slots.push(this.spawn(true))
    }
    for (const i of plan.preempt) this.preempt(live[i])
  }

  /**
   * Stops the call `slot` runs and queues it again at the head of its group (it starts over
   * later, with its full timeout); the worker is replaced, and the group, now holding one
   * worker fewer, leaves the place to a group that holds none.
   */
  private preempt (slot: Slot): void {
    const job = slot.job
    if (job === undefined) return
    this.vacate(slot)
    clearTimeout(job.timer)
    job.timer = undefined
    job.slot = undefined
    job.startedAt = undefined
    this.queue.unshift(job.group, job)
    this.components.logger.debug({ worker: slot.id, group: job.group }, 'a run holds several Wasm workers while another has none: one of its calls is stopped and queued again')
    slot.retired = true
    void slot.worker.terminate()
    this.remove(slot)
    // the preempted call waits at the head of its group: a base worker is started for it
    this.grow(true)
  }

  private dispatch (slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer)
    clearTimeout(this.quietTimer)
    slot.idleTimer = this.quietTimer = undefined
    this.worked = true
    slot.job = job
    job.slot = slot
    job.startedAt = performance.now()
    this.held.set(job.group, this.holding(job.group) + 1)
    const { key } = job.request
    const artifact = slot.keys.has(key) ? undefined : job.artifact
    slot.keys.add(key)
    slot.worker.ref()
    slot.worker.postMessage({ type: 'run', id: job.id, request: job.request, ...(artifact !== undefined ? { artifact } : {}) } satisfies ToWorker)
    // a call still running after longCallMs goes to the lowest priority: short calls on the
    // other workers, and extra workers started for runs left without one, get the processor first
    slot.longCallTimer = setTimeout(() => {
      if (slot.job !== job || !setThreadNiceness(slot.tid, LONG_CALL_NICENESS)) return
      slot.demoted = true
      this.longCalls++
    }, this.settings.longCallMs)
    slot.longCallTimer.unref()
    job.timer = setTimeout(() => {
      if (slot.job === job) {
        this.kill(slot, job, new RuntimeError(RuntimeErrorCode.TIMEOUT, `the Wasm call ran longer than ${job.timeoutMs} ms`, { timeoutMs: job.timeoutMs }))
      }
    }, Math.min(Math.max(job.timeoutMs, 0), MAX_TIMER_MS))
  }

  /** The slot's call is over: its group holds one worker fewer, and the worker's priority is restored. */
  private vacate (slot: Slot): void {
    const job = slot.job
    if (job === undefined) return
    slot.job = undefined
    clearTimeout(slot.longCallTimer)
    // where raising it again is refused, the worker goes once idle (the next starts at WASM_NICENESS)
    if (slot.demoted === true && setThreadNiceness(slot.tid, WASM_NICENESS)) slot.demoted = false
    const n = this.holding(job.group) - 1
    if (n <= 0) this.held.delete(job.group)
    else this.held.set(job.group, n)
  }

  /** Lets an idle worker go. */
  private retire (slot: Slot): void {
    clearTimeout(slot.idleTimer)
    slot.retired = true
    void slot.worker.terminate()
    this.remove(slot)
  }

  private remove (slot: Slot): void {
    this.slots = this.slots.filter(s => s !== slot)
  }
}
