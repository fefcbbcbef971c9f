/**
 * Metrics: one prom-client registry of the node's own, a typed tree of `ipvm_*` metrics
 * that subsystems receive a branch of, the Prometheus scrape endpoint, and the JSON form
 * the `metrics` RPC method returns.
 */
export { createMetricsRegistry, type Registry } from './registry.js'
export {
  createMetrics,
  TASK_DURATION_BUCKETS_SECONDS,
  RPC_DURATION_BUCKETS_SECONDS,
  type Metrics,
  type WorkflowMetrics,
  type TaskMetrics,
  type ReceiptMetrics,
  type RpcMetrics,
  type NetworkMetrics,
  type ComputeMetrics,
  type DispatchFailure,
  type PeerLabels,
  type StoreMetrics,
  type NodeMetrics,
  type OpLabels,
  type RpcOutcome,
  type GossipDirection,
  type DhtOutcome
} from './metrics.js'
export type { Children, Counter, LabeledCounter, Gauge, LabeledGauge, GaugeSample, Histogram, LabeledHistogram, Collector, LabelValues, MetricCreatorOptions } from './typed.js'
export { LabelBound, OTHER_LABEL_VALUE, MAX_LABEL_VALUE_LENGTH, DEFAULT_MAX_LABEL_VALUES } from './typed.js'
export { MetricsServer, METRICS_PATH, type MetricsServerComponents } from './server.js'
export {
  metricsToJson,
  type MetricsJson,
  type MetricsJsonOptions,
  type MetricFamilyJson,
  type MetricTypeName,
  type SampleJson,
  type HistogramJson,
  type SummaryJson,
  type LabelsJson
} from './json.js'
export {
  defaultMetricsServerOptions,
  metricsServerOptions,
  defaultMetricsRegistryOptions,
  type MetricsServerOptions,
  type MetricsRegistryOptions
} from './options.js'
export { MetricsError, MetricsErrorCode } from './errors.js'
