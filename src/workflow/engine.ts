import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { Startable } from '../util/lifecycle.js'
import { errorMessage, IpvmError } from '../util/errors.js'
import { Semaphore } from '../util/semaphore.js'
import { retry, RetriesExhausted } from '../util/retry.js'
import type { Ipld } from '../ipld/value.js'
import { decode, encode, parseCid, parseReceipt, parseWasmRunInput, receiptCid, receiptIpld, receiptNotificationJson, type Receipt, type Workflow } from '../ipld/index.js'
import type { Store } from '../store/index.js'
import type { Metrics } from '../metrics/index.js'
import type { RunRequest } from '../runtime/index.js'
import { buildDag } from './dag.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { defaultWorkflowEngineOptions, type WorkflowEngineOptions } from './options.js'
import { Run, type RunStatus } from './run.js'
import { blockedBy, linkArgs, metaNumber, resolveArgs, type Outcome, type PreparedTask } from './task.js'

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
 * Runs workflows: builds each one's task graph, replays tasks that already have a receipt,
 * executes the others as soon as what they await is done (independent tasks in parallel,
 * bounded by `concurrency`), retries failures with backoff, stores each receipt before
 * announcing it, and ends every run with a status notification.
 */
export class WorkflowEngine implements Startable {
  private readonly opts: WorkflowEngineOptions
  private readonly c: WorkflowEngineComponents
  private readonly active = new Map<string, Run>()
  private readonly slots: Semaphore
  private stopping = false

  constructor (opts: Partial<WorkflowEngineOptions>, components: WorkflowEngineComponents) {
    this.opts = { ...defaultWorkflowEngineOptions, ...opts }
    this.c = components
    this.slots = new Semaphore(this.opts.concurrency)
  }

  async start (): Promise<void> {
    this.stopping = false
  }

  async stop (): Promise<void> {
    this.stopping = true
    const runs = [...this.active.values()]
    for (const run of runs) run.abort.abort(new WorkflowError(WorkflowErrorCode.CANCELLED, 'node stopping'))
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
    if (this.stopping) throw new WorkflowError(WorkflowErrorCode.STATE, 'node is stopping')
    const existing = this.active.get(workflow.cid.toString())
    if (existing !== undefined) return existing
    const prepared = this.prepare(workflow)
    const dag = buildDag(prepared.map(p => ({ id: p.instructionString, awaits: p.args.flatMap(a => a.kind === 'await' ? [a.cid.toString()] : []) })))
    const run = new Run(workflow, opts.name ?? workflow.cid.toString(), dag)
    const outputs = new Map<string, Outcome>()
    for (const ext of dag.external) {
      const found = await this.lookupReceipt(ext, run.abort.signal)
      if (found === undefined) {
        throw new WorkflowError(WorkflowErrorCode.UNKNOWN_AWAIT, `a task awaits ${ext}, which is neither a task of this workflow nor has a receipt`, { instruction: ext })
      }
      outputs.set(ext, found.outcome)
    }
    const again = this.active.get(run.cidString)
    if (again !== undefined) return again
    this.active.set(run.cidString, run)
    this.c.metrics?.workflow.started.inc()
    this.c.metrics?.workflow.running.inc()
    void this.execute(run, prepared, outputs)
      .catch(err => this.c.logger.error({ err, workflow: run.cidString }, 'workflow run crashed'))
      .finally(() => {
        this.active.delete(run.cidString)
        this.c.metrics?.workflow.running.dec()
      })
    return run
  }

  private prepare (workflow: Workflow): PreparedTask[] {
    return workflow.tasks.map((task, index) => {
      if (task.run.op !== 'wasm/run') {
        throw new WorkflowError(WorkflowErrorCode.UNSUPPORTED_OP, `task ${index}: operation "${task.run.op}" is not supported (this node runs wasm/run)`, { task: index, op: task.run.op })
      }
      const input = parseWasmRunInput(task.run)
      return {
        index,
        task,
        instruction: task.run.cid,
        instructionString: task.run.cid.toString(),
        func: input.func,
        args: input.args,
        rsc: task.run.rsc,
        timeoutMs: metaNumber(task.meta, 'time') ?? this.opts.defaultTimeoutMs,
        memoryBytes: metaNumber(task.meta, 'memory') ?? this.opts.defaultMemoryBytes
      }
    })
  }

  /** A stored (or peer's) successful receipt for an instruction. */
  private async lookupReceipt (instruction: string, signal: AbortSignal): Promise<{ cid: CID, bytes: Uint8Array, receipt: Receipt, outcome: Outcome } | undefined> {
    const cid = parseCid(instruction)
    const local = await this.c.store.receipts.getByInstruction(cid)
    let found: { cid: CID, bytes: Uint8Array, receipt: Receipt } | undefined
    if (local !== undefined) {
      found = { ...local, receipt: readReceipt(local.bytes) }
    } else if (this.c.peers !== undefined) {
      const remote = await this.c.peers.find(cid, signal).catch(() => null)
      if (remote !== null && remote.receipt.out[0] === 'ok') {
        found = { cid: remote.cid, bytes: receiptBytes(remote.receipt), receipt: remote.receipt }
        await this.c.store.receipts.put({ cid: found.cid, instruction: cid, bytes: found.bytes })
        this.c.metrics?.receipts.fromPeers.inc()
      }
    }
    if (found === undefined) return undefined
    const [tag, value] = found.receipt.out
    return { ...found, outcome: { ok: tag !== 'error', value } }
  }

  private async execute (run: Run, tasks: PreparedTask[], outputs: Map<string, Outcome>): Promise<void> {
    const { store, metrics } = this.c
    const signal = run.abort.signal
    run.status = 'running'
    await store.workflows.put({ cid: run.cid, name: run.name, numTasks: tasks.length, status: 'running' })

    // replay: every task that already has a receipt, in dependency order
    // (all lookups at once: a lookup that goes to the network waits on peers, not on the others)
    const lookups = await Promise.all(run.dag.order.map(async i => await this.lookupReceipt(tasks[i]!.instructionString, signal)))
    for (const [k, i] of run.dag.order.entries()) {
      const p = tasks[i]!
      const found = lookups[k]
      if (found === undefined) continue
      outputs.set(p.instructionString, found.outcome)
      run.states[i] = 'replayed'
      run.counts.replayed++
      await store.receipts.put({ cid: found.cid, instruction: p.instruction, bytes: found.bytes, workflow: run.cid })
      metrics?.tasks.replayed.inc({ op: p.func })
      this.announce(run, i, found.receipt, found.cid, true)
    }

    // execute the rest as their awaited tasks finish
    const remaining = run.dag.nodes.map(n => n.deps.filter(d => run.states[d] !== 'replayed').length)
    await new Promise<void>(resolve => {
      let open = tasks.filter((_t, i) => run.states[i] === 'waiting').length
      if (open === 0) { resolve(); return }
      const finish = (i: number): void => {
        open--
        for (const d of run.dag.nodes[i]!.dependents) {
          if (run.states[d] !== 'waiting') continue
          remaining[d]!--
          if (remaining[d] === 0) launch(d)
        }
        if (open === 0) resolve()
      }
      const launch = (i: number): void => {
        const p = tasks[i]!
        const blocker = blockedBy(p.args, outputs)
        if (blocker !== undefined || signal.aborted) {
          run.states[i] = signal.aborted ? 'cancelled' : 'skipped'
          if (!signal.aborted) run.counts.skipped++
          finish(i)
          return
        }
        run.states[i] = 'running'
        void this.runTask(run, p, outputs).then(() => finish(i), err => {
          // the receipt could not be stored: the task did not complete
          this.c.logger.error({ err, workflow: run.cidString, task: i }, 'storing a receipt failed')
          if (run.states[i] !== 'failed') run.counts.failed++
          if (run.states[i] === 'ok') run.counts.executed--
          run.states[i] = 'failed'
          run.error ??= { code: (err as { code?: string }).code ?? 'WORKFLOW_STORE_FAILED', message: `task ${i}: ${errorMessage(err)}` }
          outputs.set(p.instructionString, { ok: false, value: null })
          finish(i)
        })
      }
      for (const i of run.dag.order) if (run.states[i] === 'waiting' && remaining[i] === 0) launch(i)
    })
    await this.finish(run)
  }

  private async runTask (run: Run, p: PreparedTask, outputs: Map<string, Outcome>): Promise<void> {
    const { metrics, logger } = this.c
    const signal = run.abort.signal
    let receipt: Receipt
    try {
      const output = await retry(async () => await this.attempt(p, outputs, signal), {
        retries: this.opts.retries,
        initialDelayMs: this.opts.retryInitialDelayMs,
        maxDelayMs: this.opts.retryMaxDelayMs,
        signal,
        shouldRetry: err => !signal.aborted && (err as { retryable?: boolean }).retryable === true,
        onRetry: (err, attempt, delayMs) => {
          run.retries++
          metrics?.tasks.retried.inc({ op: p.func })
          logger.debug({ task: p.index, func: p.func, attempt, delayMs, err: errorMessage(err) }, 'retrying task')
        }
      })
      receipt = { ran: p.task.ran, out: ['ok', output], meta: { op: p.func }, iss: null, prf: [] }
      run.states[p.index] = 'ok'
      run.counts.executed++
      metrics?.tasks.executed.inc({ op: p.func })
    } catch (err) {
      if (signal.aborted) {
        run.states[p.index] = 'cancelled'
        return
      }
      const cause = err instanceof RetriesExhausted ? err.lastError : err
      const attempts = err instanceof RetriesExhausted ? err.attempts : 1
      const code = cause instanceof IpvmError ? cause.code : 'TASK_FAILED'
      receipt = { ran: p.task.ran, out: ['error', { code, message: errorMessage(cause), attempts }], meta: { op: p.func }, iss: null, prf: [] }
      run.states[p.index] = 'failed'
      run.counts.failed++
      run.error ??= { code, message: `task ${p.index} (${p.func}) failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorMessage(cause)}` }
      metrics?.tasks.failed.inc({ op: p.func })
      logger.debug({ workflow: run.cidString, task: p.index, code, attempts }, 'task failed')
    }
    const cid = receiptCid(receipt)
    const bytes = receiptBytes(receipt)
    const [tag, value] = receipt.out
    outputs.set(p.instructionString, { ok: tag === 'ok', value })
    const { stored } = await this.c.store.receipts.put({ cid, instruction: p.instruction, bytes, workflow: run.cid })
    if (stored) metrics?.receipts.stored.inc()
    this.announce(run, p.index, receipt, cid, false)
    if (tag === 'ok') this.c.peers?.publish({ cid, instruction: p.instruction, receipt })
  }

  /** One attempt: fetch what the task needs, resolve its arguments, run the Wasm. */
  private async attempt (p: PreparedTask, outputs: Map<string, Outcome>, signal: AbortSignal): Promise<Ipld> {
    const release = await this.slots.acquire(signal)
    const stopTimer = this.c.metrics?.tasks.durationSeconds.startTimer({ op: p.func })
    try {
      const wasm = await this.c.resources.fetch(p.rsc, { signal })
      const files = new Map<string, Uint8Array>()
      for (const link of linkArgs(p.args)) {
        if (!outputs.has(link.toString())) files.set(link.toString(), await this.c.resources.fetchCid(link, { signal }))
      }
      const args = resolveArgs(p.args, outputs, files)
      const { output } = await this.c.runner.run({ key: p.rsc, wasm, func: p.func, args, timeoutMs: p.timeoutMs, memoryBytes: p.memoryBytes, signal })
      return output
    } finally {
      stopTimer?.()
      release()
    }
  }

  private announce (run: Run, index: number, receipt: Receipt, cid: CID, replayed: boolean): void {
    const dagJson = receiptNotificationJson({ name: run.name, replayed, workflowCid: run.cid, receipt, receiptCid: cid })
    run.emit({ kind: 'receipt', dagJson, index, receiptCid: cid.toString(), replayed })
  }

  private async finish (run: Run): Promise<void> {
    const { metrics } = this.c
    let status: RunStatus
    if (run.abort.signal.aborted) {
      // a node that stops leaves the run `running` in the store, to be resumed on restart
      if (this.stopping) {
        run.status = 'cancelled'
        run.emit({ kind: 'status', status: 'cancelled', final: true, json: run.statusNotification(true) })
        return
      }
      status = 'cancelled'
      run.error ??= { code: WorkflowErrorCode.CANCELLED, message: 'workflow run cancelled' }
      metrics?.workflow.cancelled.inc()
    } else if (run.counts.failed > 0 || run.counts.skipped > 0) {
      status = 'failed'
      metrics?.workflow.failed.inc()
    } else {
      status = 'completed'
      metrics?.workflow.completed.inc()
    }
    run.status = status
    await this.c.store.workflows.update(run.cid, { status, retries: run.retries, ...(run.error !== undefined ? { error: run.error } : {}) })
    run.emit({ kind: 'status', status, final: true, json: run.statusNotification(true) })
  }
}

/** How a receipt is stored: the DAG-CBOR of exactly what its CID hashes. */
export function receiptBytes (receipt: Receipt): Uint8Array {
  return encode(receiptIpld(receipt))
}

export function readReceipt (bytes: Uint8Array): Receipt {
  return parseReceipt(decode(bytes))
}
