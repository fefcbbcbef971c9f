import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { Startable } from '../util/lifecycle.js'
import { errorMessage } from '../util/errors.js'
import { Semaphore } from '../util/semaphore.js'
import type { Ipld } from '../ipld/value.js'
import { parseCid, type Receipt, type Workflow } from '../ipld/index.js'
import type { ListWorkflowsOptions, Store } from '../store/index.js'
import type { Metrics } from '../metrics/index.js'
import type { RunRequest } from '../runtime/index.js'
import { buildDag } from './dag.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { defaultWorkflowEngineOptions, type WorkflowEngineOptions } from './options.js'
import { FINAL_STATUSES, Run, type RunInit } from './run.js'
import { prepareTasks } from './prepare.js'
import { lookupReceipts, type ReceiptInfo } from './receipts.js'
import { recoverRuns, type PlannedRun } from './recovery.js'
import { RunScheduler, type ResumeState, type SchedulerContext } from './scheduler.js'
import { cancelRun, NODE_STOPPING, pauseRun, resumeRun } from './control.js'
import { RunSlot } from './run-slot.js'
import { getReceipt, listRuns, notFound, runInfo, runReceipts, type RunInfo } from './queries.js'
import type { Outcome } from './task.js'

/** Executes one Wasm call (the runtime's worker pool). Errors may carry `retryable`. */
export interface TaskRunner {
  run(req: RunRequest): Promise<{ output: Ipld }>
}

/** Fetches a resource by URL (`ipfs://<cid>`): local blocks first, then other sources. */
export interface ResourceFetcher {
  fetch(url: string, opts?: { signal?: AbortSignal }): Promise<Uint8Array>
  fetchCid(cid: CID, opts?: { signal?: AbortSignal }): Promise<Uint8Array>
}

/** Receipts made by other nodes (issue of the network layer); optional. */
export interface PeerReceipts {
  /** A receipt for the instruction from the network, bounded in time; null when none. */
  find(instruction: CID, signal?: AbortSignal): Promise<{ cid: CID, receipt: Receipt } | null>
  /** Tells the network about a new receipt (gossip, DHT). Never throws. */
  publish(r: { cid: CID, instruction: CID, receipt: Receipt }): void
}

export interface WorkflowEngineComponents {
  store: Store
  runner: TaskRunner
  resources: ResourceFetcher
  logger: Logger
  metrics?: Pick<Metrics, 'workflow' | 'tasks' | 'receipts'>
  peers?: PeerReceipts
}

export interface SubmitOptions {
  /** The run's name in notifications. @default the workflow CID */
  name?: string
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
  private readonly active = new Map<string, Run>()
  private readonly slots: Semaphore
  /** Runs executing at once (`maxRuns`); the others wait for one in arrival order. A paused or sleeping run gives its slot back (`RunSlot`). */
  private readonly runSlots: Semaphore
  private stopping = false
  /** Settles once the unfinished runs of a previous process are loaded. */
  private recovery: Promise<void> = Promise.resolve()

  constructor (opts: Partial<WorkflowEngineOptions>, components: WorkflowEngineComponents) {
    this.opts = { ...defaultWorkflowEngineOptions, ...opts }
    this.c = components
    this.slots = new Semaphore(this.opts.concurrency)
    this.runSlots = new Semaphore(this.opts.maxRuns)
  }

  async start (): Promise<void> {
    this.stopping = false
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
      isActive: cid => this.active.has(cid.toString())
    }, this.opts.maxRestarts)
    for (const r of recovered) {
      if (this.stopping || this.active.has(r.run.cidString)) continue
      this.active.set(r.run.cidString, r.run)
      this.execute(r, this.takeRunSlot(r.run).slot, r.resume)
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
    for (const run of runs) run.abort.abort(NODE_STOPPING)
    await Promise.allSettled(runs.map(async r => await r.done()))
  }

  /** The run of a workflow that is in progress on this node, if any. */
  activeRun (cid: CID | string): Run | undefined {
    return this.active.get(cid.toString())
  }

  /**
   * Validates a workflow and starts running it, or returns the run already in progress for it
   * (a second subscriber re-attaches). Throws `WORKFLOW_INVALID_*` errors for bad workflows.
   */
  async submit (workflow: Workflow, opts: SubmitOptions = {}): Promise<Run> {
    await this.recovery
    if (this.stopping) throw new WorkflowError(WorkflowErrorCode.STATE, 'node is stopping')
    const existing = this.active.get(workflow.cid.toString())
    if (existing !== undefined) return existing
    this.admit(workflow)
    const planned = await this.plan(workflow, opts.name ?? workflow.cid.toString(), {})
    const again = this.active.get(workflow.cid.toString())
    if (again !== undefined) return again
    this.admit(workflow)
    const { run } = planned
    this.active.set(run.cidString, run)
    const { queued, slot } = this.takeRunSlot(run)
    run.status = queued ? 'pending' : 'running'
    try {
      await this.c.store.workflows.put({ cid: run.cid, name: run.name, numTasks: planned.tasks.length, status: run.status, createdAt: run.createdAt }, { body: workflow.bytes })
    } catch (err) {
      void slot.then(release => release())
      this.active.delete(run.cidString)
      run.status = 'failed'
      run.error = { code: (err as { code?: string }).code ?? 'WORKFLOW_STORE_FAILED', message: `the run could not be stored: ${errorMessage(err)}` }
      run.emit({ kind: 'status', status: 'failed', final: true, json: run.statusNotification(true) })
      throw err
    }
    this.c.metrics?.workflow.started.inc()
    this.execute(planned, slot)
    return run
  }

  /** A run's stored status, with live task counts while it is loaded. `WORKFLOW_NOT_FOUND` when unknown. */
  async status (cid: CID): Promise<RunInfo> {
    await this.recovery
    return await runInfo(this.c.store, cid, this.active.get(cid.toString()))
  }

  /** Runs newest first, optionally of one status, a page at a time. */
  async list (opts: ListWorkflowsOptions = {}): Promise<{ runs: RunInfo[], cursor?: string }> {
    await this.recovery
    return await listRuns(this.c.store, opts, cid => this.active.get(cid.toString()))
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

  /** Cancels an unfinished run and waits for its final status (`WORKFLOW_STATE` for a finished one). */
  async cancel (cid: CID): Promise<RunInfo> {
    await this.recovery
    const run = this.active.get(cid.toString())
    if (run !== undefined) {
      await cancelRun(run)
      return await this.status(cid)
    }
    const stored = await this.c.store.workflows.get(cid)
    if (stored === undefined) throw notFound(cid)
    if (FINAL_STATUSES.has(stored.status)) {
      throw new WorkflowError(WorkflowErrorCode.STATE, `cannot cancel workflow run ${cid.toString()}: it is ${stored.status}`, { cid: cid.toString(), status: stored.status })
    }
    // stored unfinished but not loaded here: nothing runs, so only the record changes
    await this.c.store.workflows.update(cid, { status: 'cancelled', wakeAt: null, sleeps: null, error: { code: WorkflowErrorCode.CANCELLED, message: 'workflow run cancelled' } })
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
    const tasks = prepareTasks(workflow, this.opts)
    const dag = buildDag(tasks.map(p => ({ id: p.instructionString, awaits: p.args.flatMap(a => a.kind === 'await' ? [a.cid.toString()] : []) })))
    const run = new Run(workflow, name, dag, init)
    const outputs = new Map<string, Outcome>()
    const found = await lookupReceipts(this.c, dag.external.map(ext => parseCid(ext)), run.abort.signal)
    dag.external.forEach((ext, n) => {
      const receipt = found[n]
      if (receipt === undefined) {
        throw new WorkflowError(WorkflowErrorCode.UNKNOWN_AWAIT, `a task awaits ${ext}, which is neither a task of this workflow nor has a receipt`, { instruction: ext })
      }
      outputs.set(ext, receipt.outcome)
    })
    return { run, tasks, outputs }
  }

  /**
   * Takes one of `maxRuns` run slots for `run`, or a place in line for one (`queued`; a run
   * cancelled while in line goes straight to its end).
   */
  private takeRunSlot (run: Run): { queued: boolean, slot: Promise<() => void> } {
    const queued = this.runSlots.free === 0
    const slot = this.runSlots.acquire(run.abort.signal).then(
      release => {
        run.slot = new RunSlot(this.runSlots, release, run.abort.signal)
        return () => { run.slot?.finish() }
      },
      () => () => {}
    )
    return { queued, slot }
  }

  private execute (planned: PlannedRun, slot: Promise<() => void>, resume?: ResumeState): void {
    const { run } = planned
    const ctx: SchedulerContext = { opts: this.opts, components: this.c, slots: this.slots }
    this.c.metrics?.workflow.running.inc()
    void slot
      .then(async release => {
        try {
          await new RunScheduler(ctx, run, planned.tasks, planned.outputs, resume).execute()
        } finally {
          release()
        }
      })
      .catch(err => this.c.logger.error({ err, workflow: run.cidString }, 'workflow run crashed'))
      .finally(() => {
        this.active.delete(run.cidString)
        this.c.metrics?.workflow.running.dec()
      })
  }

  /** The loaded run for a pause or resume; `WORKFLOW_NOT_FOUND` or `WORKFLOW_STATE` when there is none. */
  private async loadedRun (cid: CID, action: string): Promise<Run> {
    const run = this.active.get(cid.toString())
    if (run !== undefined) return run
    const stored = await this.c.store.workflows.get(cid)
    if (stored === undefined) throw notFound(cid)
    throw new WorkflowError(WorkflowErrorCode.STATE, `cannot ${action} workflow run ${cid.toString()}: it is ${stored.status}`, { cid: cid.toString(), status: stored.status })
  }
}
