/**
 * What the workflow core needs from the rest of the node, as small interfaces: the node's
 * composition root passes the runtime, the resource resolver, the store and the network,
 * tests pass fakes. Nothing here imports those subsystems' code.
 */
import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { Receipt, Ipld } from '../ipld/index.js'
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
}
