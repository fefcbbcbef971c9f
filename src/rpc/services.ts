import type { OpenRpc } from './openrpc.js'
import type { Ipld } from '../ipld/value.js'
import type { Run } from '../workflow/run.js'

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
}
