import { IpvmError } from '../util/errors.js'

/** Stable codes of the errors the metrics subsystem raises. */
export const MetricsErrorCode = {
  /** The metrics HTTP server could not listen on its host and port (in use, not permitted, bad host). */
  LISTEN_FAILED: 'METRICS_LISTEN_FAILED',
  /** `MetricsServer.port` was read before `start()` finished or after `stop()`. */
  NOT_STARTED: 'METRICS_NOT_STARTED',
  /** A metric of the same name is already in the registry (e.g. `createMetrics` called twice on one registry). */
  DUPLICATE_METRIC: 'METRICS_DUPLICATE_METRIC',
  /** The registry returned a metric family of a type the JSON form cannot represent. */
  UNKNOWN_TYPE: 'METRICS_UNKNOWN_TYPE'
} as const

export type MetricsErrorCode = typeof MetricsErrorCode[keyof typeof MetricsErrorCode]

export class MetricsError extends IpvmError<MetricsErrorCode> {}
