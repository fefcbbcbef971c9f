/**
 * What the workflow core needs from the rest of the node, as small interfaces: the node's
 * composition root passes the runtime, the resource resolver, the store and the network,
 * tests pass fakes. Nothing here imports those subsystems' code.
 */
import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { Receipt, Ipld, Task } from '../ipld/index.js'
import type { Store } from '../store/index.js'
import type { ReceiptMetrics, TaskMetrics, WorkflowMetrics } from '../metrics/index.js'

/** One Wasm call, as the scheduler asks for it. */
export interface TaskRequest {
  /** Cache key of the compiled Wasm; the same key always means the same bytes. */
  key: string
  wasm: Uint8Array
  func: string
  args: Ipld[]
  timeoutMs: number
  memoryBytes: number
  signal: AbortSignal
  /** Who the call is for (the run): the runtime shares its workers fairly between groups. */
  group: string
}

/** Executes one Wasm call (the runtime's worker pool). Errors may carry `retryable: true`. */
export interface TaskRunner {
  run(req: TaskRequest): Promise<{ output: Ipld }>
}

/** Fetches the resources a task needs: local blocks first, then other sources. */
export interface ResourceFetcher {
  /** A resource by URL, with a cache key that always means the same bytes; `local`: from this node's store only. */
  fetchResource(url: string, opts?: { signal?: AbortSignal, local?: boolean }): Promise<{ bytes: Uint8Array, key: string }>
  /** A UnixFS file by CID (a task's link argument). */
  fetchCid(cid: CID, opts?: { signal?: AbortSignal }): Promise<Uint8Array>
}

/** Receipts of other nodes (the network layer); optional. */
export interface PeerReceipts {
  /**
   * Asks peers for the receipts of these instructions (all at once: one request per peer),
   * bounded in time. What the network's trust policy admits lands in the store; true where it
   * did (the store has a receipt for that instruction now).
   */
  findMany(instructions: CID[], signal?: AbortSignal): Promise<boolean[]>
  /**
   * Tells the network about a receipt this node computed (gossip, DHT); `displaced` is the
   * peer's receipt it took the place of in the store, if any. Never throws.
   */
  publish(r: { cid: CID, instruction: CID, receipt: Receipt, displaced?: CID }): void
  /** Tells the network a receipt was replayed (Homestar gossips it again). Never throws. */
  replayed(r: { cid: CID, instruction: CID, receipt: Receipt }): void
}

/** Checks a result from a peer against the result type the task's Wasm declares; optional. */
export interface ResultTypes {
  /**
   * False when `value` cannot be what function `func` of the Wasm (`key`, `wasm`) returns;
   * undefined when that is not known (the function is not found, or has no declared result).
   */
  conforms(req: { key: string, wasm: Uint8Array, func: string }, value: Ipld): Promise<boolean | undefined>
}

/**
 * Where a ready Wasm task runs: `local` on this node; `spread` on this node or a peer offering
 * work, whichever is least loaded; `remote-first` on a peer with room, on this node when none has.
 */
export type Placement = 'local' | 'spread' | 'remote-first'

export const PLACEMENTS: readonly Placement[] = ['local', 'spread', 'remote-first']

/** One attempt of a ready Wasm task, as the scheduler hands it to a dispatcher: what a peer needs to run it. */
export interface ReadyTask {
  /** The task as a peer is sent it. */
  task: Pick<Task, 'ipld' | 'ran'>
  instruction: CID
  func: string
  rsc: string
  /** Its timeout and memory cap here (a peer applies its own limits). */
  timeoutMs: number
  memoryBytes: number
  /** The outputs of the instructions it awaits, sorted by instruction CID. */
  awaited: Array<{ instruction: CID, ok: boolean, value: Ipld }>
  placement: Placement
  /** How a peer's result is checked (`compute.verify` syntax), when the run asks for its own. */
  verify?: string
  signal: AbortSignal
  /** The run the task is for. */
  group: string
}

/** What the scheduler lends a dispatcher for one attempt. */
export interface DispatchHooks {
  /** Runs the attempt on this node: fetches what it needs and calls the Wasm. */
  runLocal(): Promise<Ipld>
  /** A try on a peer failed and the task goes on elsewhere: it counts as an attempt of the task. */
  onFault(peer: string, err: unknown): void
  /** Resolves once the run is not paused; rejects when it is aborted. */
  whenUnpaused(): Promise<void>
  /** Aborts when the run is paused: a task a peer has not started yet comes back until it is resumed. */
  pauseSignal(): AbortSignal
}

/** The result of an attempt a dispatcher made, verified. */
export interface DispatchedResult {
  output: Ipld
  /** The peer that ran it; undefined when this node did. */
  executor?: string
  /** Peers whose signed results agree with it: each vouches for the receipt. */
  vouchers: string[]
  /** This node computed it too (it ran here, or a check here agreed). */
  computedHere: boolean
}

/** Runs ready tasks on peers as placement says (the compute subsystem); optional. */
export interface TaskDispatcher {
  /**
   * One attempt of a ready task: on a peer, verified, or here (`hooks.runLocal`). A peer that
   * fails, times out or answers something invalid costs an attempt (`hooks.onFault`) and the
   * task goes on elsewhere; what `runLocal` throws is thrown.
   */
  execute(task: ReadyTask, hooks: DispatchHooks): Promise<DispatchedResult>
}

/** The store repositories the workflow core reads and writes, and when the store takes writes again after a failure. */
export type WorkflowStoreView = Pick<Store, 'receipts' | 'workflows' | 'whenWritable'>

/** The metrics the workflow core updates. */
export interface WorkflowCoreMetrics {
  workflow: WorkflowMetrics
  tasks: TaskMetrics
  receipts: ReceiptMetrics
}

/** What a run resumed after a restart brings from its stored record. */
export interface ResumeState {
  /** The stored wake time of each sleep that was in progress, by instruction CID. */
  sleeps?: Record<string, number>
}

/** What executing a run needs. */
export interface SchedulerComponents {
  store: WorkflowStoreView
  runner: TaskRunner
  resources: ResourceFetcher
  logger: Logger
  metrics?: WorkflowCoreMetrics
  peers?: PeerReceipts
  /** Checks peers' results against declared result types before they are reused. */
  resultTypes?: ResultTypes
  /** Sends ready tasks to peers where placement says; without it every task runs here. */
  dispatcher?: TaskDispatcher
}
