import type { CID } from 'multiformats/cid'
import type { Workflow } from '../ipld/index.js'
import type { ReceiptInfo, RunEvent, RunExecution, RunInfo } from '../workflow/index.js'
import type { ComputeInfoJson } from './compute-info.js'
import type { WorkflowStatus } from '../store/index.js'
import type { OpenRpc } from './openrpc.js'
import type { RunIdentity } from './notifications.js'

export interface NodeInfo {
  static: { peer_id: string }
  dynamic: {
    listeners: string[]
    connections: Record<string, string>
    /** Whether receipt gossip reaches peers (absent when gossip is off). */
    gossip?: { mesh_peers: string[], subscribers: number, last_received: number | null, last_published: number | null }
    /** Distributed execution: this node's offer and its peers' (absent without the network). */
    compute?: ComputeInfoJson
  }
}

/** What the RPC methods need from the rest of the node; the composition root provides it. */
export interface RpcServices {
  openrpc: OpenRpc
  /**
   * Whether the store works: undefined when that is known at once (it answered a moment
   * ago), else a promise that resolves when it answers a read and rejects with the reason
   * otherwise.
   */
  checkHealth(): Promise<void> | undefined
  nodeInfo(): NodeInfo
  /** This node's peer id (receipt notifications name it as the executor of what ran here). */
  peerId(): string
  /** Parts of the node still starting after JSON-RPC answers (`network`); none once all are up. */
  startingParts?(): string[]
  /** The metrics in the JSON form of `schemas/metrics.json`, optionally only names starting with `prefix`. */
  metricsJson(prefix?: string): Promise<unknown>
  workflows: WorkflowService
  /** Calls `listener` with each network event until the returned function is called. */
  networkEvents(listener: (event: unknown) => void): () => void
  /** Imports a file into the node's blocks (`POST /add`); resolves to its CID. */
  addFile(body: AsyncIterable<Uint8Array>): Promise<CID>
}

/** A run as a subscriber sees it: what it is, and its events from the start. */
export interface RunHandle extends RunIdentity {
  /** Delivers every event so far, then each new one, until the returned function is called. */
  attach(listener: (event: RunEvent) => void): () => void
}

/** What the workflow methods need (the workflow engine provides it). */
export interface WorkflowService {
  /** Starts a workflow, or returns the run of it already going. */
  submit(workflow: Workflow, opts?: { name?: string, execution?: RunExecution }): Promise<RunHandle>
  /** A run's status; `WORKFLOW_NOT_FOUND` when unknown. */
  status(cid: CID): Promise<RunInfo>
  /** A page of runs, newest first. */
  list(opts: { status?: WorkflowStatus, limit?: number, cursor?: string }): Promise<{ runs: RunInfo[], cursor?: string }>
  cancel(cid: CID): Promise<RunInfo>
  pause(cid: CID): Promise<RunInfo>
  resume(cid: CID): Promise<RunInfo>
  /** A receipt by receipt CID or instruction CID; `WORKFLOW_RECEIPT_NOT_FOUND` when none. */
  receipt(cid: CID): Promise<ReceiptInfo>
  /** The receipts of a run in landing order. */
  receipts(cid: CID): Promise<ReceiptInfo[]>
}
