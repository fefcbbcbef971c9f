import { Registry, collectDefaultMetrics } from 'prom-client'
import { defaultMetricsRegistryOptions, type MetricsRegistryOptions } from './options.js'

export type { Registry }

/**
 * A registry of the node's own; prom-client's global `register` is never used, so two
 * nodes in one process (tests, embedding) keep separate metrics.
 */
export function createMetricsRegistry (options: MetricsRegistryOptions = {}): Registry {
  const opts = { ...defaultMetricsRegistryOptions, ...options }
  const registry = new Registry()
  if (Object.keys(opts.defaultLabels).length > 0) registry.setDefaultLabels(opts.defaultLabels)
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry })
  return registry
}
