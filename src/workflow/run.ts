import type { CID } from 'multiformats/cid'
import type { Workflow } from '../ipld/index.js'
import type { Dag } from './dag.js'

export type RunStatus = 'pending' | 'running' | 'paused' | 'sleeping' | 'completed' | 'failed' | 'cancelled'
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled'])

export type TaskState = 'waiting' | 'running' | 'sleeping' | 'ok' | 'replayed' | 'failed' | 'skipped' | 'cancelled'

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

/**
 * One run of a workflow in memory: its graph, the state of each task, and the history of
 * notifications, so a subscriber attaching late gets every notification from the start.
 */
export class Run {
  readonly workflow: Workflow
  readonly cid: CID
  readonly cidString: string
  readonly name: string
  readonly dag: Dag
  status: RunStatus = 'pending'
  readonly states: TaskState[]
  readonly counts: TaskCounts
  retries = 0
  error?: { code: string, message: string }
  readonly abort = new AbortController()
  private readonly history: RunEvent[] = []
  private readonly listeners = new Set<RunListener>()
  private readonly finished: Promise<void>
  private resolveFinished!: () => void

  constructor (workflow: Workflow, name: string, dag: Dag) {
    this.workflow = workflow
    this.cid = workflow.cid
    this.cidString = workflow.cid.toString()
    this.name = name
    this.dag = dag
    this.states = workflow.tasks.map(() => 'waiting')
    this.counts = { total: workflow.tasks.length, executed: 0, replayed: 0, failed: 0, skipped: 0 }
    this.finished = new Promise(resolve => { this.resolveFinished = resolve })
  }

  get isFinal (): boolean {
    return FINAL_STATUSES.has(this.status)
  }

  /** Resolves once the run has reached a final status. */
  async done (): Promise<void> {
    await this.finished
  }

  /** Delivers the history so far, then every later event, until the returned function is called. */
  attach (listener: RunListener): () => void {
    for (const e of this.history) listener(e)
    if (this.isFinal) return () => {}
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  emit (event: RunEvent): void {
    this.history.push(event)
    for (const l of this.listeners) {
      try { l(event) } catch { /* a listener's failure is its own */ }
    }
    if (event.kind === 'status' && event.final) {
      this.listeners.clear()
      this.resolveFinished()
    }
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
}
