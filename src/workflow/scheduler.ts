import { errorMessage, isIpvmError } from '../util/errors.js'
import type { FairSemaphore } from '../util/fair-semaphore.js'
import { retry, RetriesExhausted } from '../util/retry.js'
import { encodeReceipt, receiptCid, type CID, type Ipld, type Receipt } from '../ipld/index.js'
import type { ReceiptSource } from '../store/index.js'
import type { DispatchedResult, ResumeState, SchedulerComponents } from './contracts.js'
import type { WorkflowEngineOptions } from './options.js'
import type { RunError } from './run-model.js'
import type { RunState } from './run-state.js'
import { replayReceipts } from './replay.js'
import { lookupReceipts, type FoundReceipt } from './receipts.js'
import { finishRun, syncStatus } from './control.js'
import { SLEEP_OP, sleepUntil } from './sleep.js'
import { blockedBy, resolveArgs, type Outcome, type PreparedTask } from './task.js'
import { placementOf, readyTaskOf, runTask } from './execution.js'

export interface SchedulerContext {
  opts: Pick<WorkflowEngineOptions, 'retries' | 'retryInitialDelayMs' | 'retryMaxDelayMs' | 'placement'>
  components: SchedulerComponents
  /**
   * Task attempts executing at once, across runs, keyed by run: runs take turns, and a run
   * with none in progress always gets one, so a run whose tasks never end cannot keep
   * another run's tasks from starting.
   */
  slots: FairSemaphore<string>
}

/**
 * Wasm tasks of one run started at once (waiting for a slot, fetching, executing, storing);
 * more ready ones wait, not yet started, until one of them ends. Each started task holds its
 * pending calls and what it read, so a fan-out of 10 000 tasks started at once held 10 000 of
 * them; the shared slots (`workflow.concurrency`) bound what executes anyway. Sleeps do not
 * count: they may wait for days.
 */
const MAX_STARTED_TASKS = 256

/**
 * Executes one run: replays the tasks that already have a receipt, then runs the others as
 * soon as what they await is done (independent tasks in parallel, bounded by the shared
 * slots), retries failures with backoff, stores each receipt before announcing it, keeps
 * the run's stored status in line (running, sleeping, paused), and ends with a final
 * status — or, when the node stops, ends without one so the run resumes on restart.
 */
export class RunScheduler {
  private readonly ctx: SchedulerContext
  private readonly run: RunState
  private readonly tasks: PreparedTask[]
  private readonly outputs: Map<string, Outcome>
  /** The run was reloaded after a restart (its failed tasks stay failed). */
  private readonly resumed: boolean
  private remaining: number[] = []
  private open = 0
  private readonly skipped = new Set<string>()
  private readonly queue: number[] = []
  private draining = false
  /** Wasm tasks started and not ended, and ready ones waiting for one of them to end. */
  private started = 0
  private readonly ready: number[] = []
  private resolveIdle: () => void = () => {}
  /** Wake times of the sleeps that were in progress when the node stopped; each is used once. */
  private readonly resumedSleeps = new Map<string, number>()

  constructor (ctx: SchedulerContext, run: RunState, tasks: PreparedTask[], outputs: Map<string, Outcome>, resume?: ResumeState) {
    this.ctx = ctx
    this.run = run
    this.tasks = tasks
    this.outputs = outputs
    this.resumed = resume !== undefined
    for (const [instruction, at] of Object.entries(resume?.sleeps ?? {})) this.resumedSleeps.set(instruction, at)
  }

  async execute (): Promise<void> {
    const { components } = this.ctx
    let crash: unknown
    try {
      // a run that waited in line for a run slot
      if (this.run.begin()) await components.store.workflows.update(this.run.cid, { status: 'running' })
      await replayReceipts(components, this.run, this.tasks, this.outputs, this.resumed)
      await this.schedule()
    } catch (err) {
      crash = err
      components.logger.error({ err, workflow: this.run.cidString }, 'workflow run failed')
    }
    await finishRun(this.run, components, crash)
  }

  /** Runs the tasks without a receipt as what they await finishes; resolves when none is left. */
  private async schedule (): Promise<void> {
    const { run, tasks, outputs } = this
    const done = (i: number): boolean => outputs.has(tasks[i].instructionString)
    this.remaining = run.dag.nodes.map(n => n.deps.filter(d => !done(d)).length)
    this.open = tasks.filter((_t, i) => !done(i)).length
    if (this.open === 0) return
    const idle = new Promise<void>(resolve => { this.resolveIdle = resolve })
    const ready = run.dag.order.filter(i => !done(i) && this.remaining[i] === 0)
    for (const i of ready) this.enqueue(i)
    void syncStatus(run, this.ctx.components)
    await idle
  }

  /** Launches tasks one after another (not recursively: a cancelled chain of 10 000 tasks unwinds in a loop). */
  private enqueue (i: number): void {
    this.queue.push(i)
    if (this.draining) return
    this.draining = true
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.launch(next)
    } finally {
      this.draining = false
    }
  }

  private launch (i: number): void {
    const { run } = this
    const p = this.tasks[i]
    if (run.signal.aborted) {
      run.taskCancelled(i)
      this.settle(i)
      return
    }
    if (blockedBy(p.args, this.outputs) !== undefined || p.args.some(a => a.kind === 'await' && this.skipped.has(a.cid.toString()))) {
      run.taskSkipped(i)
      this.skipped.add(p.instructionString)
      this.settle(i)
      return
    }
    const wasm = p.sleep === undefined
    if (wasm) {
      if (this.started >= MAX_STARTED_TASKS) {
        this.ready.push(i)
        return
      }
      this.started++
    }
    run.taskStarted(i, wasm ? 'wasm' : 'sleep')
    const work = wasm ? this.runWasm(p) : this.runSleep(p)
    const ended = (): void => {
      this.settle(i)
      if (wasm) this.startReady()
    }
    work.then(ended, err => {
      // the receipt could not be stored: the task did not complete
      this.ctx.components.logger.error({ err, workflow: run.cidString, task: i }, 'storing a receipt failed')
      run.taskFailed(i, { code: (err as { code?: string }).code ?? 'WORKFLOW_STORE_FAILED', message: `task ${i}: ${errorMessage(err)}` })
      this.outputs.set(p.instructionString, { ok: false, value: null })
      ended()
    })
  }

  /** A started Wasm task ended: ready ones take its place (through the queue, so a cancelled run unwinds in a loop). */
  private startReady (): void {
    this.started--
    while (this.started + this.queue.length < MAX_STARTED_TASKS && this.ready.length > 0) this.enqueue(this.ready.shift()!)
  }

  private settle (i: number): void {
    const { run } = this
    run.taskEnded(i)
    this.open--
    for (const d of run.dag.nodes[i].dependents) {
      if (run.taskState(d) !== 'waiting') continue
      this.remaining[d]--
      if (this.remaining[d] === 0) this.enqueue(d)
    }
    if (this.open > 0) {
      void syncStatus(run, this.ctx.components)
    } else {
      this.resolveIdle()
    }
  }

  private async runWasm (p: PreparedTask): Promise<void> {
    const { run } = this
    const { metrics, logger } = this.ctx.components
    const signal = run.signal
    // a receipt may have come (a peer's, by gossip) since the run looked at its start
    const early = await this.arrived(p)
    if (early !== undefined) {
      await this.reuse(p, early)
      return
    }
    let result: DispatchedResult
    try {
      result = await retry(async () => await this.attempt(p, signal), {
        retries: this.ctx.opts.retries,
        initialDelayMs: this.ctx.opts.retryInitialDelayMs,
        maxDelayMs: this.ctx.opts.retryMaxDelayMs,
        signal,
        shouldRetry: err => !signal.aborted && (err as { retryable?: boolean }).retryable === true,
        onRetry: (err, attempt, delayMs) => {
          run.taskRetried()
          metrics?.tasks.retried.inc({ op: p.func })
          logger.info({ workflow: run.cidString, task: p.index, func: p.func, attempt, delayMs, err: errorMessage(err) }, 'retrying task')
        }
      })
    } catch (err) {
      if (signal.aborted) {
        run.taskCancelled(p.index)
        return
      }
      const arrived = err instanceof RetriesExhausted ? err.lastError : err
      if (arrived instanceof Arrived) {
        await this.reuse(p, arrived.found)
        return
      }
      const cause = err instanceof RetriesExhausted ? err.lastError : err
      const attempts = err instanceof RetriesExhausted ? err.attempts : 1
      const code = isIpvmError(cause) ? cause.code : 'TASK_FAILED'
      const failure: RunError = { code, message: `task ${p.index} (${p.func}) failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorMessage(cause)}` }
      metrics?.tasks.failed.inc({ op: p.func })
      logger.debug({ workflow: run.cidString, task: p.index, code, attempts }, 'task failed')
      const receipt: Receipt = { ran: p.ran, out: ['error', { code, message: errorMessage(cause), attempts }], meta: { op: p.func }, iss: null, prf: [] }
      run.taskFailed(p.index, failure, await this.storeReceipt(p, receipt))
      return
    }
    metrics?.tasks.executed.inc({ op: p.func })
    const receipt: Receipt = { ran: p.ran, out: ['ok', result.output], meta: { op: p.func }, iss: null, prf: [] }
    // a result only peers computed is theirs: they vouch for it (their signatures were checked)
    const source: ReceiptSource = result.computedHere ? { kind: 'local' } : { kind: 'peer', vouchers: result.vouchers.map(peer => ({ peer, via: 'dispatch', signed: true })) }
    const stored = await this.storeReceipt(p, receipt, source)
    run.taskSucceeded(p.index, stored.cid, receipt, result.executor)
    this.ctx.components.peers?.publish({ cid: stored.cid, instruction: p.instruction, receipt, ...(stored.displaced !== undefined ? { displaced: stored.displaced } : {}) })
  }

  /**
   * One attempt: wait while the run is paused, take a slot, then run the task where placement
   * says (here: fetch what it needs and run the Wasm).
   */
  private async attempt (p: PreparedTask, signal: AbortSignal): Promise<DispatchedResult> {
    const { run } = this
    const { metrics, dispatcher, logger } = this.ctx.components
    let release: () => void
    for (;;) {
      await run.whenUnpaused(signal)
      // a run that gave its run slot back while it slept or was paused waits for one again
      await run.slot?.take()
      release = await this.ctx.slots.acquire(run.cidString, signal)
      if (!run.paused) break
      release()
    }
    // the wait for a slot can be long: a peer's receipt may have come meanwhile
    const found = await this.arrived(p).catch(() => undefined)
    if (found !== undefined) {
      release()
      throw new Arrived(found)
    }
    const stopTimer = metrics?.tasks.durationSeconds.startTimer({ op: p.func })
    try {
      const runLocal = async (): Promise<Ipld> => await runTask(this.ctx.components, p, this.outputs, signal, run.cidString)
      const placement = placementOf(p, run, this.ctx.opts.placement)
      if (dispatcher === undefined || placement === 'local') return { output: await runLocal(), vouchers: [], computedHere: true }
      return await dispatcher.execute(readyTaskOf(p, this.outputs, placement, run), {
        runLocal,
        onFault: (peer, err) => {
          run.taskRetried()
          metrics?.tasks.retried.inc({ op: p.func })
          logger.debug({ workflow: run.cidString, task: p.index, peer, err: errorMessage(err) }, 'a peer did not deliver the task; it runs elsewhere')
        },
        whenUnpaused: async () => { await run.whenUnpaused(signal) },
        pauseSignal: () => run.pauseSignal()
      })
    } finally {
      stopTimer?.()
      release()
    }
  }

  /** A reusable receipt the store has for the task now (gossip arrivals are local): no peer is asked. */
  private async arrived (p: PreparedTask): Promise<FoundReceipt | undefined> {
    const { store, metrics, resources, resultTypes } = this.ctx.components
    const local = { store, resources, ...(metrics !== undefined ? { metrics } : {}), ...(resultTypes !== undefined ? { resultTypes } : {}) }
    const [found] = await lookupReceipts(local, [p.instruction], this.run.signal, [{ ran: p.ran, rsc: p.rsc, func: p.func }])
    return found !== undefined && found.outcome.ok ? found : undefined
  }

  /** Answers a task with a receipt that came while the run went on, as a replay. */
  private async reuse (p: PreparedTask, found: FoundReceipt): Promise<void> {
    this.outputs.set(p.instructionString, found.outcome)
    await this.ctx.components.store.receipts.fileUnder(this.run.cid, [found.cid])
    this.run.taskReplayed(p.index, found.cid, found.receipt, undefined, found.executor)
    this.ctx.components.metrics?.tasks.replayed.inc({ op: p.func })
  }

  /**
   * `ipvm/sleep`: waits (once the run is not paused) until its wake time, which is stored in
   * the run's record (`sleeps`) so a restart does not start the sleep over; then its receipt,
   * `out: ["ok", value]`, the same for the same instruction.
   */
  private async runSleep (p: PreparedTask): Promise<void> {
    const { run } = this
    const signal = run.signal
    try {
      await run.whenUnpaused(signal)
      const wakeAt = this.wakeTime(p)
      run.sleepStarted(p.index, wakeAt)
      void syncStatus(run, this.ctx.components)
      await sleepUntil(wakeAt, signal)
    } catch (err) {
      if (signal.aborted) {
        run.taskCancelled(p.index)
        return
      }
      throw err
    }
    const value = p.args[0] === undefined ? null : p.args[0].kind === 'literal' ? p.args[0].value : resolveArgs(p.args, this.outputs, new Map())[0]!
    this.ctx.components.metrics?.tasks.executed.inc({ op: p.func })
    const receipt: Receipt = { ran: p.ran, out: ['ok', value], meta: { op: SLEEP_OP }, iss: null, prf: [] }
    const stored = await this.storeReceipt(p, receipt)
    run.taskSucceeded(p.index, stored.cid, receipt)
  }

  private wakeTime (p: PreparedTask): number {
    const { until, durationMs = 0 } = p.sleep!
    if (until !== undefined) return until
    const full = Date.now() + durationMs
    const stored = this.resumedSleeps.get(p.instructionString)
    if (stored === undefined) return full
    this.resumedSleeps.delete(p.instructionString)
    return Math.min(stored, full)
  }

  /** Stores a task's receipt under the run and makes its output visible to the tasks awaiting it. */
  private async storeReceipt (p: PreparedTask, receipt: Receipt, source?: ReceiptSource): Promise<{ cid: CID, receipt: Receipt, displaced?: CID }> {
    const { store, metrics } = this.ctx.components
    const cid = receiptCid(receipt)
    const [tag, value] = receipt.out
    this.outputs.set(p.instructionString, { ok: tag === 'ok', value })
    const { stored, displaced } = await store.receipts.put({ cid, instruction: p.instruction, bytes: encodeReceipt(receipt), workflow: this.run.cid, ...(source !== undefined ? { source } : {}) })
    if (stored) metrics?.receipts.stored.inc()
    return displaced === undefined ? { cid, receipt } : { cid, receipt, displaced }
  }
}

/** A receipt for the task came while it waited for a slot: it is not run. */
class Arrived extends Error {
  constructor (readonly found: FoundReceipt) {
    super('a receipt for the task arrived')
  }
}
