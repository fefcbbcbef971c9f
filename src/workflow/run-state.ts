import { setMaxListeners } from 'node:events'
import type { CID } from 'multiformats/cid'
import { cidText, type Receipt, type Workflow } from '../ipld/index.js'
import { abortReason } from '../util/errors.js'
import { FINAL_STATUSES, type RunError, type RunExecution, type RunEvent, type RunInit, type RunListener, type RunStatus, type StatusChange, type StatusEvent, type TaskActivity, type TaskCounts, type TaskState } from './run-model.js'
import type { Dag } from './dag.js'
import { WorkflowErrorCode } from './errors.js'
import type { RunSlot } from './run-slot.js'
import { RunHistory } from './run-history.js'

/**
 * One run of a workflow in memory and the only writer of its state: status, the state of
 * each task, counts, retries, error, what is in flight, pauses and sleeps. Everything else
 * reads it and changes it through the named transitions below. It keeps the history of its
 * events (compactly: `RunHistory`), so a listener attaching late gets every event from the start.
 */
export class RunState {
  readonly cid: CID
  readonly cidString: string
  readonly name: string
  readonly dag: Dag
  readonly createdAt: number
  readonly restarts: number
  /** How its tasks are placed, as its subscriber asked. */
  readonly execution: RunExecution
  private _status: RunStatus
  private readonly states: TaskState[]
  private readonly _counts: TaskCounts
  private _retries: number
  private _error?: RunError
  private _wakeAt?: number
  /** The sleeps as last stored (JSON of `sleepTimes()`). */
  private storedSleeps = '{}'
  /** Aborts the run's tasks; every waiting task listens on it, so it takes any number of listeners. */
  private readonly abort = unlimitedAbortController()
  private stopping = false
  private _interrupted = false
  private _finalUnstored = false
  private _slot?: RunSlot
  /** Tasks in flight, by index, and how many of them are Wasm calls. */
  private readonly inflight = new Map<number, TaskActivity>()
  private wasmInFlight = 0
  /** Wake time of each sleeping task, by index. */
  private readonly sleepers = new Map<number, number>()
  private pauseRequested: boolean
  /** Aborted at the next pause (made when first asked for). */
  private pauseController?: AbortController
  private unpauseWaiters: Array<() => void> = []
  /** Status writes to the store, chained so they land (and are announced) in order. */
  private writes: Promise<void> = Promise.resolve()
  private readonly history = new RunHistory()
  private readonly listeners = new Set<RunListener>()
  private readonly finished: Promise<void>
  private resolveFinished!: () => void
  private ended = false

  constructor (workflow: Workflow, name: string, dag: Dag, init: RunInit = {}) {
    this.cid = workflow.cid
    this.cidString = cidText(workflow.cid)
    this.name = name
    this.dag = dag
    this._status = init.status ?? 'pending'
    this.createdAt = init.createdAt ?? Date.now()
    this.restarts = init.restarts ?? 0
    this.execution = init.execution ?? {}
    this.pauseRequested = init.paused ?? false
    this._retries = init.retries ?? 0
    if (init.wakeAt !== undefined) this._wakeAt = init.wakeAt
    this.states = workflow.tasks.map(() => 'waiting')
    this._counts = { total: workflow.tasks.length, executed: 0, replayed: 0, failed: 0, skipped: 0 }
    this.finished = new Promise(resolve => { this.resolveFinished = resolve })
  }

  // ---- reading ----

  get status (): RunStatus { return this._status }
  get counts (): Readonly<TaskCounts> { return this._counts }
  get retries (): number { return this._retries }
  get error (): RunError | undefined { return this._error }
  get wakeAt (): number | undefined { return this._wakeAt }
  get isFinal (): boolean { return FINAL_STATUSES.has(this._status) }
  /** Whether a pause was asked for (and no resume since). */
  get paused (): boolean { return this.pauseRequested }
  /** Aborted when the run is cancelled or the node stops. */
  get signal (): AbortSignal { return this.abort.signal }
  /** The run was stopped by the node stopping, not cancelled: it resumes on the next start. */
  get stoppedByNode (): boolean { return this.stopping }
  /** The run ended in memory without a final status (the node stopping). */
  get interrupted (): boolean { return this._interrupted }
  /** The run ended, announced as failed, but its final status could not be stored (yet). */
  get finalUnstored (): boolean { return this._finalUnstored }
  /** Its place among the runs executing at once, once it has one. */
  get slot (): RunSlot | undefined { return this._slot }

  taskState (index: number): TaskState {
    return this.states[index]
  }

  /** The wake time of each sleeping task, by instruction CID. */
  sleepTimes (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [index, at] of [...this.sleepers].sort((a, b) => a[0] - b[0])) out[this.dag.nodes[index].id] = at
    return out
  }

  /** The status event of this moment. */
  statusEvent (final: boolean): StatusEvent {
    return { type: 'status', status: this._status, final, tasks: { ...this._counts }, retries: this._retries, ...(this._error !== undefined ? { error: { ...this._error } } : {}), at: Date.now() }
  }

  /** Resolves once the run has ended: a final status, or interrupted. */
  async done (): Promise<void> {
    await this.finished
  }

  /** Resolves when every status write queued so far has landed. */
  async settled (): Promise<void> {
    await this.writes
  }

  /** Aborts when the run is paused (already aborted while it is). */
  pauseSignal (): AbortSignal {
    if (this.pauseRequested) return AbortSignal.abort(new Error('the run is paused'))
    this.pauseController ??= unlimitedAbortController()
    return this.pauseController.signal
  }

  /** Resolves at once when the run is not paused, else when it is resumed; rejects when `signal` aborts. */
  async whenUnpaused (signal: AbortSignal): Promise<void> {
    if (!this.pauseRequested) return
    if (signal.aborted) throw abortReason(signal)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.unpauseWaiters = this.unpauseWaiters.filter(w => w !== wake)
        reject(abortReason(signal))
      }
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.unpauseWaiters.push(wake)
    })
  }

  /** Delivers the history so far, then every later event, until the returned function is called. */
  attach (listener: RunListener): () => void {
    for (const e of this.history.events()) listener(e)
    if (this.ended) return () => {}
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  // ---- transitions ----

  /** The run got its slot (or was stored as running at once). */
  attachSlot (slot: RunSlot): void {
    this._slot = slot
  }

  /** Submitted: running at once, or waiting in line for a run slot. */
  admitted (queued: boolean): void {
    this._status = queued ? 'pending' : 'running'
  }

  /** A run that waited in line starts; true when its status changed (to be stored). */
  begin (): boolean {
    if (this._status !== 'pending' || this.signal.aborted) return false
    this._status = 'running'
    return true
  }

  /** A task answered by an existing receipt: replayed (ok) or, resumed after a restart, failed again. `executor`: the peer that vouched for it. */
  taskReplayed (index: number, cid: CID, receipt: Receipt, failure?: RunError, executor?: string): void {
    if (failure === undefined) {
      this.states[index] = 'replayed'
      this._counts.replayed++
    } else {
      this.states[index] = 'failed'
      this._counts.failed++
      this._error ??= failure
    }
    this.emit({ type: 'receipt', index, cid, receipt, replayed: true, ...(executor !== undefined ? { executor } : {}) })
  }

  /** A task is in flight: a Wasm call (or waiting to make one) or a sleep. */
  taskStarted (index: number, activity: TaskActivity): void {
    this.states[index] = activity === 'sleep' ? 'sleeping' : 'running'
    if (this.inflight.has(index)) return
    this.inflight.set(index, activity)
    if (activity === 'wasm') this.wasmInFlight++
  }

  /** A task attempt failed and will be tried again. */
  taskRetried (): void {
    this._retries++
  }

  /** A task's sleep waits until `wakeAt`. */
  sleepStarted (index: number, wakeAt: number): void {
    this.sleepers.set(index, wakeAt)
  }

  /** A task's receipt is stored: it succeeded, here or on `executor`. */
  taskSucceeded (index: number, cid: CID, receipt: Receipt, executor?: string): void {
    this.states[index] = 'ok'
    this._counts.executed++
    this.emit({ type: 'receipt', index, cid, receipt, replayed: false, ...(executor !== undefined ? { executor } : {}) })
  }

  /** A task failed: with its stored error receipt, or without one when even that could not be stored. */
  taskFailed (index: number, failure: RunError, stored?: { cid: CID, receipt: Receipt }): void {
    this.states[index] = 'failed'
    this._counts.failed++
    this._error ??= failure
    if (stored !== undefined) this.emit({ type: 'receipt', index, cid: stored.cid, receipt: stored.receipt, replayed: false })
  }

  /** A task whose awaited task failed or was skipped. */
  taskSkipped (index: number): void {
    this.states[index] = 'skipped'
    this._counts.skipped++
  }

  /** A task stopped (or never started) because the run was aborted. */
  taskCancelled (index: number): void {
    this.states[index] = 'cancelled'
  }

  /** A task is no longer in flight. */
  taskEnded (index: number): void {
    this.sleepers.delete(index)
    const activity = this.inflight.get(index)
    if (activity === undefined) return
    this.inflight.delete(index)
    if (activity === 'wasm') this.wasmInFlight--
  }

  /** Stops new task attempts from starting; the ones running go on. */
  pause (): void {
    this.pauseRequested = true
    const controller = this.pauseController
    this.pauseController = undefined
    controller?.abort(new Error('the run is paused'))
  }

  /** Lets task attempts start again. */
  unpause (): void {
    this.pauseRequested = false
    for (const wake of this.unpauseWaiters.splice(0)) wake()
  }

  /** Aborts the run for good: its tasks stop, and it ends cancelled. */
  cancel (reason: Error): void {
    this.abort.abort(reason)
  }

  /** Aborts the run because the node stops: it ends without a final status and resumes on restart. */
  stopForShutdown (reason: Error): void {
    this.stopping = true
    this.abort.abort(reason)
  }

  /**
   * Brings the status in line with what the run is doing: paused when a pause was asked
   * for, sleeping when every task in flight is a sleep, running otherwise; and the earliest
   * wake time of its sleeps. Returns what changed, for the store, or undefined. Nothing
   * changes once the run is final or aborted.
   */
  applyLiveStatus (): StatusChange | undefined {
    if (this.isFinal || this.signal.aborted) return undefined
    let wakeAt: number | undefined
    for (const at of this.sleepers.values()) if (wakeAt === undefined || at < wakeAt) wakeAt = at
    const status: RunStatus = this.pauseRequested
      ? 'paused'
      : this.inflight.size > 0 && this.wasmInFlight === 0 ? 'sleeping' : 'running'
    const sleeps = this.sleepTimes()
    const sleepsText = JSON.stringify(sleeps)
    if (status === this._status && wakeAt === this._wakeAt && sleepsText === this.storedSleeps) return undefined
    const announce = status !== this._status
    this._status = status
    this._wakeAt = wakeAt
    this.storedSleeps = sleepsText
    return { status, ...(wakeAt !== undefined ? { wakeAt } : {}), sleeps, retries: this._retries, ...(announce ? { event: this.statusEvent(false) } : {}) }
  }

  /**
   * Queues a write of the run's status; writes land in order. `announce` (an event from
   * `applyLiveStatus`) goes to listeners once its write has landed; it is not announced
   * when the write fails.
   */
  queueWrite (write: () => Promise<void>, announce?: StatusEvent): Promise<void> {
    const next = this.writes.then(async () => {
      await write()
      if (announce !== undefined) this.emit(announce)
    })
    // a failed write does not hold up the ones after it; the caller hears of the failure
    this.writes = next.catch(() => {})
    return next
  }

  /**
   * The final status once no task is left: cancelled when it was cancelled, failed when a
   * task failed or was skipped or the run itself broke down (`crash`), completed otherwise.
   */
  conclude (crash?: RunError): RunStatus {
    let status: RunStatus
    if (this.signal.aborted) {
      status = 'cancelled'
      this._error ??= { code: WorkflowErrorCode.CANCELLED, message: 'workflow run cancelled' }
    } else if (crash !== undefined || this._counts.failed > 0 || this._counts.skipped > 0) {
      status = 'failed'
      if (crash !== undefined) this._error ??= crash
    } else {
      status = 'completed'
    }
    this._status = status
    this._wakeAt = undefined
    return status
  }

  /** Sets the final status without running (a run that could not even be stored). */
  failBeforeStart (error: RunError): void {
    this._status = 'failed'
    this._error = error
    this.emit(this.statusEvent(true))
  }

  /** Announces the final status (stored by then); the run ends. */
  announceFinal (): void {
    this.emit(this.statusEvent(true))
  }

  /**
   * The final status could not be stored: the run ends failed, with `error` (the store's),
   * and says so to its listeners rather than leaving them without an end.
   */
  failUnstored (error: RunError): void {
    this._status = 'failed'
    this._error = error
    this._wakeAt = undefined
    this._finalUnstored = true
    this.emit(this.statusEvent(true))
  }

  /** Ends the run in memory without a final notification (the stored status stays as it was). */
  interrupt (): void {
    this._interrupted = true
    this.end()
  }

  private emit (event: RunEvent): void {
    this.history.push(event)
    for (const l of this.listeners) {
      try { l(event) } catch { /* a listener's failure is its own */ }
    }
    if (event.type === 'status' && event.final) this.end()
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
