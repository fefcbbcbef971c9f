import type { Registry } from 'prom-client'
import { MetricCreator, type Children, type Counter, type Gauge, type Histogram, type LabeledCounter, type LabeledGauge, type LabeledHistogram, type MetricCreatorOptions } from './typed.js'

/**
 * Buckets of `ipvm_task_duration_seconds`: a pure Wasm call takes about a millisecond, a
 * task that fetches resources or hits its timeout can take a minute.
 */
export const TASK_DURATION_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** Buckets of `ipvm_rpc_request_duration_seconds`: most calls answer in under a millisecond. */
export const RPC_DURATION_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The Wasm function a task calls (`meta.op` of its receipt). */
export interface OpLabels extends Record<string, string> { op: string }
export type RpcOutcome = 'ok' | 'error'
export type GossipDirection = 'in' | 'out'
export type DhtOutcome = 'ok' | 'not_found' | 'timeout' | 'error'

export interface WorkflowMetrics {
  /** `ipvm_workflows_started_total` */
  started: Counter
  /** `ipvm_workflows_completed_total` */
  completed: Counter
  /** `ipvm_workflows_failed_total` */
  failed: Counter
  /** `ipvm_workflows_cancelled_total` */
  cancelled: Counter
  /** `ipvm_workflows_running` */
  running: Gauge
}

export interface TaskMetrics {
  /** `ipvm_tasks_executed_total{op}` */
  executed: LabeledCounter<OpLabels>
  /** `ipvm_tasks_replayed_total{op}` */
  replayed: LabeledCounter<OpLabels>
  /** `ipvm_tasks_failed_total{op}` */
  failed: LabeledCounter<OpLabels>
  /** `ipvm_task_retries_total{op}` */
  retried: LabeledCounter<OpLabels>
  /** `ipvm_task_duration_seconds{op}` */
  durationSeconds: LabeledHistogram<OpLabels>
}

export interface ReceiptMetrics {
  /** `ipvm_receipts_stored_total` */
  stored: Counter
  /** `ipvm_receipts_from_peers_total` */
  fromPeers: Counter
  /** `ipvm_receipts_invalid_from_peers_total{reason}` */
  invalidFromPeers: LabeledCounter<{ reason: string }>
  /** `ipvm_receipt_conflicts_total` */
  conflicts: Counter
  /** `ipvm_receipt_candidates` */
  candidates: Gauge
}

export interface RpcMetrics {
  /** `ipvm_rpc_requests_total{method,outcome}` */
  requests: LabeledCounter<{ method: string, outcome: RpcOutcome }> & Children<{ method: string, outcome: RpcOutcome }, Counter>
  /** `ipvm_rpc_request_duration_seconds{method}` */
  durationSeconds: LabeledHistogram<{ method: string }> & Children<{ method: string }, Pick<Histogram, 'observe'>>
  /** `ipvm_rpc_connections` */
  connections: Gauge
  /** `ipvm_rpc_subscriptions{kind}` */
  subscriptions: LabeledGauge<{ kind: string }>
  /** `ipvm_rpc_dropped_clients_total{reason}` */
  droppedClients: LabeledCounter<{ reason: string }>
}

export interface NetworkMetrics {
  /** `ipvm_network_peers` */
  peers: Gauge
  /** `ipvm_gossip_messages_total{direction}` */
  gossipMessages: LabeledCounter<{ direction: GossipDirection }>
  /** `ipvm_dht_operations_total{op,outcome}` */
  dhtOps: LabeledCounter<{ op: string, outcome: DhtOutcome }>
  /** `ipvm_peer_input_dropped_total{kind}` */
  peerInputDropped: LabeledCounter<{ kind: string }>
  /** `ipvm_dht_records` */
  dhtRecords: Gauge
  /** `ipvm_dht_record_bytes` */
  dhtRecordBytes: Gauge
}

/** Why a task sent to a peer did not come back as a verified result. */
export type DispatchFailure = 'refused' | 'busy' | 'timeout' | 'disconnected' | 'error' | 'invalid' | 'conflict'

/** A peer, as metrics label it: its id for the first few peers, `other` beyond them (bounded cardinality). */
export interface PeerLabels extends Record<string, string> { peer: string }

export interface ComputeMetrics {
  /** `ipvm_compute_dispatched_total{peer}` */
  dispatched: LabeledCounter<PeerLabels>
  /** `ipvm_compute_completed_total{peer}` */
  completed: LabeledCounter<PeerLabels>
  /** `ipvm_compute_failed_total{peer,reason}` */
  failed: LabeledCounter<PeerLabels & { reason: DispatchFailure }>
  /** `ipvm_compute_latency_seconds{peer}` */
  latencySeconds: LabeledHistogram<PeerLabels>
  /** `ipvm_compute_served_total{outcome}` */
  served: LabeledCounter<{ outcome: 'ok' | 'error' | 'busy' | 'cancelled' }>
  /** `ipvm_compute_remote_in_flight` */
  remoteInFlight: Gauge
  /** `ipvm_compute_offers` */
  offers: Gauge
}

export interface StoreMetrics {
  /** `ipvm_store_size_bytes`; the store gives its size with `sizeBytes.setCollector(fn)`. */
  sizeBytes: Gauge
}

export interface NodeMetrics {
  /** `ipvm_node_info{version,peer_id}`, always 1. */
  info: LabeledGauge<{ version: string, peer_id: string }>
  /** `ipvm_node_start_time_seconds`; set to the creation time, the node may set it again when it has started. */
  startTimeSeconds: Gauge
  /** `ipvm_metrics_collector_errors_total{metric}` */
  collectorErrors: LabeledCounter<{ metric: string }>
}

/** Every metric the node exposes, one group per subsystem. Subsystems take only their group. */
export interface Metrics {
  workflow: WorkflowMetrics
  tasks: TaskMetrics
  receipts: ReceiptMetrics
  rpc: RpcMetrics
  network: NetworkMetrics
  compute: ComputeMetrics
  store: StoreMetrics
  node: NodeMetrics
}

/**
 * Registers the node's metrics (names `ipvm_…`, seconds for time, `_total` on counters) in
 * `registry` and returns them as a typed tree. Throws `METRICS_DUPLICATE_METRIC` if the
 * registry already holds them. Every label takes at most `options.maxLabelValues` values
 * per metric (64 by default); later ones are counted as `other`.
 */
export function createMetrics (registry: Registry, options: MetricCreatorOptions = {}): Metrics {
  const m = new MetricCreator(registry, () => {}, options)

  const node: NodeMetrics = {
    collectorErrors: m.labeledCounter({ name: 'ipvm_metrics_collector_errors_total', help: 'Collectors that threw while the metrics were read, by metric; the metric kept its last value.', labelNames: ['metric'] }),
    info: m.labeledGauge({ name: 'ipvm_node_info', help: 'Always 1; its labels give the node version and libp2p peer id.', labelNames: ['version', 'peer_id'] }),
    startTimeSeconds: m.gauge({ name: 'ipvm_node_start_time_seconds', help: 'Start time of the node since the Unix epoch, in seconds.' })
  }
  m.setCollectorErrorHandler((metric) => { node.collectorErrors.inc({ metric }) })
  node.startTimeSeconds.set(Date.now() / 1000)

  const workflow: WorkflowMetrics = {
    started: m.counter({ name: 'ipvm_workflows_started_total', help: 'Workflow runs started, resumed runs included.' }),
    completed: m.counter({ name: 'ipvm_workflows_completed_total', help: 'Workflow runs whose tasks all have a successful receipt.' }),
    failed: m.counter({ name: 'ipvm_workflows_failed_total', help: 'Workflow runs that ended because a task failed after its retries.' }),
    cancelled: m.counter({ name: 'ipvm_workflows_cancelled_total', help: 'Workflow runs cancelled by a client or by the node stopping.' }),
    running: m.gauge({ name: 'ipvm_workflows_running', help: 'Workflow runs in progress, paused ones included.' })
  }

  const tasks: TaskMetrics = {
    executed: m.labeledCounter({ name: 'ipvm_tasks_executed_total', help: 'Tasks run to a successful receipt on this node, by Wasm function.', labelNames: ['op'] }),
    replayed: m.labeledCounter({ name: 'ipvm_tasks_replayed_total', help: 'Tasks answered from an existing receipt (local or from a peer) instead of being run, by Wasm function.', labelNames: ['op'] }),
    failed: m.labeledCounter({ name: 'ipvm_tasks_failed_total', help: 'Tasks that failed after their last attempt, by Wasm function.', labelNames: ['op'] }),
    retried: m.labeledCounter({ name: 'ipvm_task_retries_total', help: 'Task attempts scheduled again after a retryable failure, by Wasm function.', labelNames: ['op'] }),
    durationSeconds: m.labeledHistogram({ name: 'ipvm_task_duration_seconds', help: 'Time of one task attempt, from start of execution to its outcome, by Wasm function.', labelNames: ['op'], buckets: TASK_DURATION_BUCKETS_SECONDS })
  }

  const receipts: ReceiptMetrics = {
    stored: m.counter({ name: 'ipvm_receipts_stored_total', help: 'Receipts written to the local store.' }),
    fromPeers: m.counter({ name: 'ipvm_receipts_from_peers_total', help: 'Valid receipts received from peers (gossip or DHT).' }),
    invalidFromPeers: m.labeledCounter({ name: 'ipvm_receipts_invalid_from_peers_total', help: 'Receipts from peers that were rejected, by reason.', labelNames: ['reason'] }),
    conflicts: m.counter({ name: 'ipvm_receipt_conflicts_total', help: 'Receipts from peers that disagree with the result this node computed or admitted for the same instruction.' }),
    candidates: m.gauge({ name: 'ipvm_receipt_candidates', help: 'Receipts from peers kept apart, not reused, until enough trusted peers vouch for them.' })
  }

  const rpc: RpcMetrics = {
    requests: m.labeledCounter({ name: 'ipvm_rpc_requests_total', help: 'JSON-RPC requests answered, by method and outcome (ok or error).', labelNames: ['method', 'outcome'] }),
    durationSeconds: m.labeledHistogram({ name: 'ipvm_rpc_request_duration_seconds', help: 'Time from receiving a JSON-RPC request to sending its response, by method.', labelNames: ['method'], buckets: RPC_DURATION_BUCKETS_SECONDS }),
    connections: m.gauge({ name: 'ipvm_rpc_connections', help: 'Open WebSocket connections to the JSON-RPC server.' }),
    subscriptions: m.labeledGauge({ name: 'ipvm_rpc_subscriptions', help: 'Active JSON-RPC subscriptions, by kind.', labelNames: ['kind'] }),
    droppedClients: m.labeledCounter({ name: 'ipvm_rpc_dropped_clients_total', help: 'WebSocket clients disconnected by the server, by reason.', labelNames: ['reason'] })
  }

  const network: NetworkMetrics = {
    peers: m.gauge({ name: 'ipvm_network_peers', help: 'Connected libp2p peers.' }),
    gossipMessages: m.labeledCounter({ name: 'ipvm_gossip_messages_total', help: 'Gossipsub receipt messages, by direction (in or out).', labelNames: ['direction'] }),
    dhtOps: m.labeledCounter({ name: 'ipvm_dht_operations_total', help: 'Kademlia DHT operations, by operation and outcome.', labelNames: ['op', 'outcome'] }),
    peerInputDropped: m.labeledCounter({ name: 'ipvm_peer_input_dropped_total', help: 'What peers sent that was dropped to stay within the node\'s caps, by kind.', labelNames: ['kind'] }),
    dhtRecords: m.gauge({ name: 'ipvm_dht_records', help: 'DHT records this node keeps for the network.' }),
    dhtRecordBytes: m.gauge({ name: 'ipvm_dht_record_bytes', help: 'Bytes of the DHT records this node keeps for the network.' })
  }

  const compute: ComputeMetrics = {
    dispatched: m.labeledCounter({ name: 'ipvm_compute_dispatched_total', help: 'Tasks sent to a peer to run, by peer (the first 32 peers by id, `other` beyond).', labelNames: ['peer'] }),
    completed: m.labeledCounter({ name: 'ipvm_compute_completed_total', help: 'Tasks sent to a peer that came back with a verified result, by peer.', labelNames: ['peer'] }),
    failed: m.labeledCounter({ name: 'ipvm_compute_failed_total', help: 'Tasks sent to a peer that came back without a result this node took (they ran elsewhere), by peer and reason.', labelNames: ['peer', 'reason'] }),
    latencySeconds: m.labeledHistogram({ name: 'ipvm_compute_latency_seconds', help: 'Time from sending a task to a peer to its verified result, by peer.', labelNames: ['peer'], buckets: TASK_DURATION_BUCKETS_SECONDS }),
    served: m.labeledCounter({ name: 'ipvm_compute_served_total', help: 'Tasks peers sent this node, by outcome (ok, error, busy: refused at its quotas, cancelled).', labelNames: ['outcome'] }),
    remoteInFlight: m.gauge({ name: 'ipvm_compute_remote_in_flight', help: 'Peers\' tasks this node is running or has queued.' }),
    offers: m.gauge({ name: 'ipvm_compute_offers', help: 'Peers whose fresh offer this node holds (peers tasks may go to).' })
  }

  const store: StoreMetrics = {
    sizeBytes: m.gauge({ name: 'ipvm_store_size_bytes', help: 'Approximate size of the node\'s store on disk, in bytes.' })
  }

  return { workflow, tasks, receipts, rpc, network, compute, store, node }
}
