import type { CID } from 'multiformats/cid'
import type { Receipt } from '../ipld/index.js'
import type { Placement } from './contracts.js'

/** The vocabulary of a run: its statuses, its tasks' states, and the events it announces. */

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

/** Why a run failed or was cancelled: a stable code and a message for people. */
export interface RunError { code: string, message: string }

/** The run's status at one moment, as status events carry it. */
export interface StatusEvent {
  type: 'status'
  status: RunStatus
  final: boolean
  tasks: TaskCounts
  retries: number
  error?: RunError
  /** When it happened, in ms since the epoch. */
  at: number
}

/** A receipt of one of the run's tasks, computed here or replayed from an earlier one. */
export interface ReceiptEvent {
  type: 'receipt'
  index: number
  cid: CID
  receipt: Receipt
  replayed: boolean
  /** The peer that executed the task; undefined when this node did (or for a receipt that does not say). */
  executor?: string
}

/** What a run tells its listeners (the API shapes these into notifications). */
export type RunEvent = ReceiptEvent | StatusEvent
export type RunListener = (event: RunEvent) => void

/**
 * How a run's tasks are placed, as its subscriber asked (kept in memory: a run resumed after a
 * restart places its tasks as the node's settings say).
 */
export interface RunExecution {
  /** @default `workflow.placement` */
  placement?: Placement
  /** How peers' results are checked (`compute.verify` syntax). @default `compute.verify` */
  verify?: string
  /** Placement of single tasks, by instruction CID. */
  tasks?: Record<string, Placement>
}

export interface RunInit {
  /** How its tasks are placed. @default the node's settings */
  execution?: RunExecution
  /** @default 'pending' */
  status?: RunStatus
  /** @default Date.now() */
  createdAt?: number
  /** Times the run was resumed after a crash of the node. @default 0 */
  restarts?: number
  /** Start paused (a paused run reloaded after a restart). @default false */
  paused?: boolean
  /** Retries already made (a run reloaded after a restart). @default 0 */
  retries?: number
  /** Earliest wake time of its sleeps as stored (a run reloaded after a restart). */
  wakeAt?: number
}

/**
 * A change of the run's live status (running, sleeping, paused) or of its sleeps, which the
 * store must learn; `event` is what to announce once it is stored (for a new status only).
 */
export interface StatusChange {
  status: RunStatus
  wakeAt?: number
  sleeps: Record<string, number>
  retries: number
  event?: StatusEvent
}
