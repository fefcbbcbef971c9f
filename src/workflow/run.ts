import { setMaxListeners } from 'node:events'
import type { CID } from 'multiformats/cid'
import type { Workflow } from '../ipld/index.js'
import type { Dag } from './dag.js'
import type { RunSlot } from './run-slot.js'

export type RunStatus = 'pending' | 'running' | 'paused' | 'sleeping' | 'completed' | 'failed' | 'cancelled'
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled'])

export type TaskState = 'waiting' | 'running' | 'sleeping' | 'ok' | 'replayed' | 'failed' | 'skipped' | 'cancelled'

/** What a task in flight is doing: a Wasm call (or waiting to make one) or a durable sleep. */
export type TaskActivity = 'wasm' | 'sleep'

export interface TaskCounts {
  total: number
  executed: number
  replayed: number
  failed: number
  skipped: number
}

/** What a run's subscribers receive: receipt notifications (DAG-JSON text) and status notifications. */
export type RunEvent =
  | { kind: 'receipt', dagJson: string, index: number, receiptCid: string, replayed: boolean }
  | { kind: 'status', status: RunStatus, final: boolean, json: StatusNotification }

/** The `workflow_status` notification (schemas/workflow_status_notification.json). */
export interface StatusNotification {
  workflow_status: {
    workflow: { '/': string }
    name: string
    status: RunStatus
    final: boolean
    tasks: TaskCounts
    retries: number
    error?: { code: string, message: string }
    timestamp: number
  }
}

export type RunListener = (event: RunEvent) => void

export interface RunInit {
  /** @default 'pending' */
  status?: RunStatus
  /** @default Date.now() */
  createdAt?: number
  /** Times the run was resumed after a node restart. @default 0 */
  restarts?: number
  /** Start paused (a paused run reloaded after a restart). @default false */
  paused?: boolean
}

/**
 * One run of a workflow in memory: its graph, the state of each task, what is in flight,
 * whether it is paused, and the history of notifications, so a subscriber attaching late
 * gets every notification from the start.
 */
export class Run {
  readonly workflow: Workflow
  readonly cid: CID
  readonly cidString: string
  readonly name: string
  readonly dag: Dag
  status: RunStatus
  readonly createdAt: number
  restarts: number
  readonly states: TaskState[]
  readonly counts: TaskCounts
  retries = 0
  error?: { code: string, message: string }
  /** Earliest wake time of the run's sleeping tasks, as last stored. */
  wakeAt?: number
  /** Aborts the run's tasks; every waiting task listens on it, so it takes any number of listeners. */
  readonly abort = unlimitedAbortController()
  /** Set when the run was aborted because the node is stopping (the run resumes on restart). */
  interrupted = false
  /** Its place among the runs executing at once, once it has one. */
  slot?: RunSlot
  /** Wake time of each sleeping task, by index. */
  readonly sleepers = new Map<number, number>()
  /** The sleepers as last stored (`sleepTimes` as JSON; none to begin with). */
  storedSleeps = '{}'
  /** Status writes to the store, chained so they land (and are announced) in order. */
  persisted: Promise<void> = Promise.resolve()
  /** Tasks in flight, by index, and how many of them are Wasm calls. */
  private readonly inflight = new Map<number, TaskActivity>()
  private wasmInFlight = 0
  private pauseRequested: boolean
  private unpauseWaiters: Array<() => void> = []
  private readonly history: RunEvent[] = []
  private readonly listeners = new Set<RunListener>()
  private readonly finished: Promise<void>
  private resolveFinished!: () => void
  private ended = false

  constructor (workflow: Workflow, name: string, dag: Dag, init: RunInit = {}) {
    this.workflow = workflow
    this.cid = workflow.cid
    this.cidString = workflow.cid.toString()
    this.name = name
    this.dag = dag
    this.status = init.status ?? 'pending'
    this.createdAt = init.createdAt ?? Date.now()
    this.restarts = init.restarts ?? 0
    this.pauseRequested = init.paused ?? false
    this.states = workflow.tasks.map(() => 'waiting')
    this.counts = { total: workflow.tasks.length, executed: 0, replayed: 0, failed: 0, skipped: 0 }
    this.finished = new Promise(resolve => { this.resolveFinished = resolve })
  }

  get isFinal (): boolean {
    return FINAL_STATUSES.has(this.status)
  }

  /** Whether a pause was asked for (and no resume since). */
  get paused (): boolean {
    return this.pauseRequested
  }

  /** Resolves once the run has ended: a final status, or interrupted by the node stopping. */
  async done (): Promise<void> {
    await this.finished
  }

  /** Records that task `index` is in flight (a Wasm call, or a sleep). */
  taskStarted (index: number, activity: TaskActivity): void {
    if (this.inflight.has(index)) return
    this.inflight.set(index, activity)
    if (activity === 'wasm') this.wasmInFlight++
  }

  /** Records that task `index` is no longer in flight. */
  taskEnded (index: number): void {
    const activity = this.inflight.get(index)
    this.sleepers.delete(index)
    if (activity === undefined) return
    this.inflight.delete(index)
    if (activity === 'wasm') this.wasmInFlight--
  }

  /** Stops new task attempts from starting; the ones running go on. */
  pause (): void {
    this.pauseRequested = true
  }

  /** Lets task attempts start again. */
  unpause (): void {
    this.pauseRequested = false
    for (const wake of this.unpauseWaiters.splice(0)) wake()
  }

  /** Resolves at once when the run is not paused, else when it is resumed; rejects when `signal` aborts. */
  async whenUnpaused (signal: AbortSignal): Promise<void> {
    if (!this.pauseRequested) return
    if (signal.aborted) throw signal.reason
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.unpauseWaiters = this.unpauseWaiters.filter(w => w !== wake)
        reject(signal.reason)
      }
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.unpauseWaiters.push(wake)
    })
  }

  /**
   * The status the run's state implies while it is going: paused when a pause was asked
   * for, sleeping when every task in flight is a sleep, running otherwise; and the
   * earliest wake time of its sleeping tasks.
   */
  /** The wake time of each sleeping task, by instruction CID. */
  sleepTimes (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [index, at] of [...this.sleepers].sort((a, b) => a[0] - b[0])) out[this.workflow.tasks[index]!.run.cid.toString()] = at
    return out
  }

  liveStatus (): { status: RunStatus, wakeAt?: number } {
    let wakeAt: number | undefined
    for (const at of this.sleepers.values()) if (wakeAt === undefined || at < wakeAt) wakeAt = at
    const status: RunStatus = this.pauseRequested
      ? 'paused'
      : this.inflight.size > 0 && this.wasmInFlight === 0 ? 'sleeping' : 'running'
    return wakeAt === undefined ? { status } : { status, wakeAt }
  }

  /** Delivers the history so far, then every later event, until the returned function is called. */
  attach (listener: RunListener): () => void {
    for (const e of this.history) listener(e)
    if (this.ended) return () => {}
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  emit (event: RunEvent): void {
    this.history.push(event)
    for (const l of this.listeners) {
      try { l(event) } catch { /* a listener's failure is its own */ }
    }
    if (event.kind === 'status' && event.final) this.end()
  }

  /**
   * Ends the run in memory without a final notification: the node is stopping and the
   * stored status stays as it was, so the run resumes when the node starts again.
   */
  interrupt (): void {
    this.interrupted = true
    this.end()
  }

  statusNotification (final: boolean): StatusNotification {
    return {
      workflow_status: {
        workflow: { '/': this.cidString },
        name: this.name,
        status: this.status,
        final,
        tasks: { ...this.counts },
        retries: this.retries,
        ...(this.error !== undefined ? { error: this.error } : {}),
        timestamp: Date.now()
      }
    }
  }

  private end (): void {
    if (this.ended) return
    this.ended = true
    this.listeners.clear()
    this.resolveFinished()
  }
}

function unlimitedAbortController (): AbortController {
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  return controller
}
