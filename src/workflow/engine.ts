import type { CID } from 'multiformats/cid'
import type { Startable } from '../util/lifecycle.js'
import { errorMessage } from '../util/errors.js'
import { Semaphore } from '../util/semaphore.js'
import { FairSemaphore } from '../util/fair-semaphore.js'
import { cidText, type Workflow } from '../ipld/index.js'
import type { ListWorkflowsOptions } from '../store/index.js'
import type { SchedulerComponents } from './contracts.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { defaultWorkflowEngineOptions, type WorkflowEngineOptions } from './options.js'
import { FINAL_STATUSES, type RunExecution, type RunInit } from './run-model.js'
import type { RunState } from './run-state.js'
import { planRun, type PlannedRun } from './planner.js'
import type { ReceiptInfo } from './receipts.js'
import { recoverRuns } from './recovery.js'
import { RunScheduler, type SchedulerContext } from './scheduler.js'
import { cancelRun, NODE_STOPPING, pauseRun, resumeRun } from './control.js'
import { RunSlot } from './run-slot.js'
import { metaNumber } from './task.js'
import { getReceipt, listRuns, runInfo, runReceipts, type RunInfo } from './queries.js'
import { checkRunName } from './run-name.js'

export type WorkflowEngineComponents = SchedulerComponents

export interface SubmitOptions {
  /** The run's name in notifications, at most `MAX_RUN_NAME_BYTES` (UTF-8). @default the workflow CID */
  name?: string
  /** How the run's tasks are placed and checked (a run already in progress keeps its own). */
  execution?: RunExecution
}

/**
 * Runs workflows: builds each one's task graph, stores the run (with the workflow's body)
 * and hands it to a `RunScheduler`, which replays tasks that already have a receipt and
 * executes the others. Runs can be paused, resumed and cancelled; on start, the runs a
 * previous process left unfinished are reloaded and go on where they were.
 */
export class WorkflowEngine implements Startable {
  private readonly opts: WorkflowEngineOptions
  private readonly c: WorkflowEngineComponents
  private readonly active = new Map<string, RunState>()
  /** Runs that ended failed without their final status stored, until it is (`storeFinalLater`). */
  private readonly unstored = new Map<string, RunState>()
  /** Task attempts executing at once (`concurrency`), shared fairly between runs. */
  private readonly slots: FairSemaphore<string>
  /** Runs executing at once (`maxRuns`); the others wait for one in arrival order. A paused or sleeping run gives its slot back (`RunSlot`). */
  private readonly runSlots: Semaphore
  private stopping = false
  /** Submissions being planned (not yet among `active`). */
  private planning = 0
  /** Settles once the unfinished runs of a previous process are loaded. */
  private recovery: Promise<void> = Promise.resolve()

  constructor (opts: Partial<WorkflowEngineOptions>, components: WorkflowEngineComponents) {
    this.opts = { ...defaultWorkflowEngineOptions, ...opts }
    this.c = components
    this.slots = new FairSemaphore(this.opts.concurrency)
    this.runSlots = new Semaphore(this.opts.maxRuns)
  }

  start (): Promise<void> {
    this.stopping = false
    return Promise.resolve()
  }

  /**
   * Reloads the runs a previous process left running, sleeping or paused, and lets them go
   * on (paused ones stay paused). The composition root calls it once the node serves
   * requests; until it is done, requests about runs (submit, status, control) wait for it.
   * Never rejects: a failure is logged.
   */
  async resumeUnfinished (): Promise<void> {
    this.recovery = this.recover().catch(err => this.c.logger.error({ err }, 'reloading unfinished workflow runs failed'))
    await this.recovery
  }

  private async recover (): Promise<void> {
    if (this.stopping) return
    const recovered = await recoverRuns({
      store: this.c.store,
      logger: this.c.logger,
      ...(this.c.metrics !== undefined ? { metrics: this.c.metrics } : {}),
      plan: async (workflow, name, init) => await this.plan(workflow, name, init),
      isActive: cid => this.active.has(cidText(cid))
    }, this.opts.maxRestarts)
    for (const r of recovered) {
      if (this.stopping || this.active.has(r.run.cidString)) continue
      this.active.set(r.run.cidString, r.run)
      this.execute(r, this.takeRunSlot(r.run).slot)
    }
  }

  /**
   * Stops every run without a final status: their stored status stays running, sleeping or
   * paused, so they resume on the next start. Subscribers get no final notification (their
   * connections close with the node).
   */
  async stop (): Promise<void> {
    this.stopping = true
    await this.recovery
    const runs = [...this.active.values()]
    for (const run of runs) run.stopForShutdown(NODE_STOPPING)
    await Promise.allSettled(runs.map(async r => await r.done()))
  }

  /** The run of a workflow that is in progress on this node, if any (a run that has just ended is not). */
  activeRun (cid: CID | string): RunState | undefined {
    const run = this.active.get(typeof cid === 'string' ? cid : cidText(cid))
    return run === undefined || run.isFinal || run.interrupted ? undefined : run
  }

  /**
   * Validates a workflow and starts running it, or returns the run already in progress for it
   * (a second subscriber re-attaches). Throws `WORKFLOW_INVALID_*` errors for bad workflows,
   * `WORKFLOW_NAME_TOO_LONG` for a name over `MAX_RUN_NAME_BYTES`.
   */
  async submit (workflow: Workflow, opts: SubmitOptions = {}): Promise<RunState> {
    if (opts.name !== undefined) checkRunName(opts.name)
    await this.recovery
    if (this.stopping) throw new WorkflowError(WorkflowErrorCode.STATE, 'node is stopping')
    const existing = this.activeRun(workflow.cid)
    if (existing !== undefined) return existing
    this.admit(workflow)
    this.planning++
    let planned: PlannedRun
    try {
      planned = await this.plan(workflow, opts.name ?? workflow.cid.toString(), opts.execution !== undefined ? { execution: opts.execution } : {})
    } finally {
      this.planning--
    }
    const again = this.activeRun(workflow.cid)
    if (again !== undefined) return again
    this.admit(workflow)
    const { run } = planned
    this.active.set(run.cidString, run)
    const { queued, slot } = this.takeRunSlot(run)
    run.admitted(queued)
    try {
      await this.c.store.workflows.put({ cid: run.cid, name: run.name, numTasks: planned.tasks.length, status: run.status, createdAt: run.createdAt }, { body: workflow.bytes })
    } catch (err) {
      void slot.then(release => release())
      this.active.delete(run.cidString)
      run.failBeforeStart({ code: (err as { code?: string }).code ?? 'WORKFLOW_STORE_FAILED', message: `the run could not be stored: ${errorMessage(err)}` })
      throw err
    }
    this.c.metrics?.workflow.started.inc()
    this.c.logger.info({ workflow: run.cidString, run_name: run.name, tasks: planned.tasks.length }, 'workflow run started')
    this.execute(planned, slot)
    return run
  }

  /** Whether a run is being planned, waits to start, or runs (a paused or sleeping run is not busy). */
  get busy (): boolean {
    if (this.planning > 0) return true
    for (const run of this.active.values()) {
      if (run.status === 'running' || run.status === 'pending') return true
    }
    return false
  }

  /** A run's stored status, with live task counts while it is loaded. `WORKFLOW_NOT_FOUND` when unknown. */
  async status (cid: CID): Promise<RunInfo> {
    await this.recovery
    return await runInfo(this.c.store, cid, this.loaded(cid.toString()))
  }

  /** The run of a workflow in memory: in progress, or ended without its final status stored. */
  private loaded (cid: string): RunState | undefined {
    return this.active.get(cid) ?? this.unstored.get(cid)
  }

  /** Runs newest first, optionally of one status, a page at a time. */
  async list (opts: ListWorkflowsOptions = {}): Promise<{ runs: RunInfo[], cursor?: string }> {
    await this.recovery
    return await listRuns(this.c.store, opts, cid => this.loaded(cid.toString()))
  }

  /** Pauses a running or sleeping run (`WORKFLOW_STATE` otherwise). */
  async pause (cid: CID): Promise<RunInfo> {
    await this.recovery
    await pauseRun(await this.loadedRun(cid, 'pause'), this.c)
    return await this.status(cid)
  }

  /** Resumes a paused run (`WORKFLOW_STATE` otherwise). */
  async resume (cid: CID): Promise<RunInfo> {
    await this.recovery
    await resumeRun(await this.loadedRun(cid, 'resume'), this.c)
    return await this.status(cid)
  }

  /**
   * Cancels an unfinished run and waits for its final status (`WORKFLOW_STATE` for a finished
   * one). The `cancelled` status is stored before anything stops: when it cannot be, the
   * store's error is thrown and the run goes on.
   */
  async cancel (cid: CID): Promise<RunInfo> {
    await this.recovery
    const run = this.active.get(cidText(cid))
    if (run !== undefined) {
      await cancelRun(run, this.c)
      return await this.status(cid)
    }
    const stored = await this.status(cid)
    if (FINAL_STATUSES.has(stored.status)) {
      throw new WorkflowError(WorkflowErrorCode.STATE, `cannot cancel workflow run ${cid.toString()}: it is ${stored.status}`, { cid: cid.toString(), status: stored.status })
    }
    // stored unfinished but not loaded here: nothing runs, so only the record changes
    await this.c.store.workflows.update(cid, { status: 'cancelled', wakeAt: null, sleeps: null, error: { code: WorkflowErrorCode.CANCELLED, message: 'workflow run cancelled' } }, { sync: true })
    return await this.status(cid)
  }

  /** A receipt by its CID or by the CID of the instruction it answers. */
  async receipt (cid: CID): Promise<ReceiptInfo> {
    return await getReceipt(this.c.store, cid)
  }

  /** The receipts of a run, in the order they landed. */
  async receipts (cid: CID): Promise<ReceiptInfo[]> {
    await this.recovery
    return await runReceipts(this.c.store, cid, this.active.get(cid.toString()))
  }

  /**
   * Refuses a workflow over `maxTasks`, and any new run while every run slot is taken and
   * `maxQueuedRuns` runs already wait for one. Runs that sleep or are paused hold no slot
   * and wait for none, so they never make the node busy.
   */
  private admit (workflow: Workflow): void {
    const { maxTasks, maxRuns, maxQueuedRuns } = this.opts
    if (workflow.tasks.length > maxTasks) {
      throw new WorkflowError(WorkflowErrorCode.TOO_LARGE, `the workflow has ${workflow.tasks.length} tasks, more than workflow.max_tasks (${maxTasks})`, { limit: maxTasks, tasks: workflow.tasks.length })
    }
    if (this.runSlots.free === 0 && this.runSlots.waiting >= maxQueuedRuns) {
      throw new WorkflowError(WorkflowErrorCode.BUSY, `${maxRuns} workflow runs are executing and ${this.runSlots.waiting} wait, the most workflow.max_runs (${maxRuns}) and workflow.max_queued_runs (${maxQueuedRuns}) allow; try again later`, { max_runs: maxRuns, max_queued_runs: maxQueuedRuns })
    }
  }

  /** Tasks, graph and the receipts of awaited instructions from outside the workflow. */
  private async plan (workflow: Workflow, name: string, init: RunInit): Promise<PlannedRun> {
    const planned = await planRun(this.c, this.opts, workflow, name, init)
    const { maxTimeoutMs } = this.opts
    const lowered = workflow.tasks.filter(t => (metaNumber(t.meta, 'time') ?? 0) > maxTimeoutMs).length
    if (lowered > 0) this.c.logger.debug({ workflow: planned.run.cidString, tasks: lowered, max_timeout_ms: maxTimeoutMs }, 'tasks asked for a timeout above workflow.max_timeout_ms: they get the ceiling')
    return planned
  }

  /**
   * Takes one of `maxRuns` run slots for `run`, or a place in line for one (`queued`; a run
   * cancelled while in line goes straight to its end).
   */
  private takeRunSlot (run: RunState): { queued: boolean, slot: Promise<() => void> } {
    const queued = this.runSlots.free === 0
    const slot = this.runSlots.acquire(run.signal).then(
      release => {
        run.attachSlot(new RunSlot(this.runSlots, release, run.signal))
        return () => { run.slot?.finish() }
      },
      () => () => {}
    )
    return { queued, slot }
  }

  private execute (planned: PlannedRun, slot: Promise<() => void>): void {
    const { run, resume } = planned
    const ctx: SchedulerContext = { opts: this.opts, components: this.c, slots: this.slots }
    this.c.metrics?.workflow.running.inc()
    void slot
      .then(async release => {
        try {
          await new RunScheduler(ctx, run, planned.tasks, planned.outputs, resume).execute()
          this.c.logger.info({ workflow: run.cidString, run_name: run.name, status: run.status, tasks: run.counts, retries: run.retries, ...(run.error !== undefined ? { error: run.error } : {}) }, run.isFinal ? `workflow run ${run.status}` : 'workflow run stopped with the node')
        } finally {
          release()
        }
      })
      .catch(err => this.c.logger.error({ err, workflow: run.cidString }, 'workflow run crashed'))
      .finally(() => {
        // a new run of the same workflow may have taken its place since it ended
        if (this.active.get(run.cidString) === run) this.active.delete(run.cidString)
        this.c.metrics?.workflow.running.dec()
        if (run.finalUnstored) this.storeFinalLater(run)
      })
  }

  /**
   * A run announced failed because its final status could not be stored: stores that status
   * once the store takes writes again, unless the workflow has been submitted again since
   * (the new run owns the record). If the node stops first, the run resumes on the next start.
   */
  private storeFinalLater (run: RunState): void {
    const { store, logger } = this.c
    const patch = { status: 'failed' as const, retries: run.retries, wakeAt: null, sleeps: null, ...(run.error !== undefined ? { error: run.error } : {}) }
    this.unstored.set(run.cidString, run)
    void (async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          await store.whenWritable()
        } catch {
          return
        }
        if (this.active.has(run.cidString) || this.stopping) return
        try {
          await store.workflows.update(run.cid, patch)
          logger.info({ workflow: run.cidString }, 'the final status of a run is stored, now that the store takes writes again')
          return
        } catch (err) {
          logger.debug({ err, workflow: run.cidString }, 'storing the final status of a run failed again')
        }
      }
    })().finally(() => {
      if (this.unstored.get(run.cidString) === run) this.unstored.delete(run.cidString)
    })
  }

  /** The loaded run for a pause or resume; `WORKFLOW_NOT_FOUND` or `WORKFLOW_STATE` when there is none. */
  private async loadedRun (cid: CID, action: string): Promise<RunState> {
    const run = this.active.get(cidText(cid))
    if (run !== undefined) return run
    const stored = await this.status(cid)
    throw new WorkflowError(WorkflowErrorCode.STATE, `cannot ${action} workflow run ${cid.toString()}: it is ${stored.status}`, { cid: cid.toString(), status: stored.status })
  }
}
