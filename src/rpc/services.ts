import type { OpenRpc } from './openrpc.js'
import type { Ipld } from '../ipld/value.js'
import type { CID } from 'multiformats/cid'
import type { Run } from '../workflow/run.js'
import type { ReceiptInfo, RunInfo } from '../workflow/index.js'
import type { WorkflowStatus } from '../store/index.js'

export interface NodeInfo {
  static: { peer_id: string }
  dynamic: { listeners: string[], connections: Record<string, string> }
}

/** What the RPC methods need from the rest of the node; the composition root provides it. */
export interface RpcServices {
  openrpc: OpenRpc
  /** Resolves when the store answers a read; rejects with the reason otherwise. */
  checkHealth(): Promise<void>
  nodeInfo(): NodeInfo
  /** The metrics in the JSON form of `schemas/metrics.json`, optionally only names starting with `prefix`. */
  metricsJson(prefix?: string): Promise<unknown>
  workflows: WorkflowService
  /** Calls `listener` with each network event until the returned function is called. */
  networkEvents(listener: (event: unknown) => void): () => void
}

export interface WorkflowService {
  /** Parses a workflow (IPLD form) and starts it, or returns the run of it already going. */
  submit(workflow: Ipld, name?: string): Promise<Run>
  /** The DAG-CBOR form of subscribe_run_workflow's params: `{name, workflow}`. */
  decodeRunBytes(bytes: Uint8Array): { workflow: Ipld, name?: string }
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
