import { defaultConfig, type IpvmConfig } from '../config/index.js'

/** Where the Prometheus scrape endpoint listens. */
export interface MetricsServerOptions {
  /**
   * Interface to bind. Keep it on loopback unless a scraper on another host needs it.
   * @default "127.0.0.1" (`metrics.host`)
   */
  host?: string
  /**
   * TCP port; 0 picks a free port, readable from `MetricsServer.port` after `start()`.
   * @default 4000 (`metrics.port`)
   */
  port?: number
}

/** The scrape endpoint's options from the `[metrics]` settings. */
export function metricsServerOptions (config: IpvmConfig['metrics']): Required<MetricsServerOptions> {
  return { host: config.host, port: config.port }
}

export const defaultMetricsServerOptions: Required<MetricsServerOptions> = metricsServerOptions(defaultConfig.metrics)

/** How `createMetricsRegistry` sets up a registry. */
export interface MetricsRegistryOptions {
  /**
   * Register prom-client's process and Node.js runtime metrics (`process_*`, `nodejs_*`):
   * CPU, memory, event-loop lag, GC, handles, heap spaces.
   * @default true
   */
  defaultMetrics?: boolean
  /**
   * Labels added to every series the registry exposes, e.g. `{ node: "a" }` when several nodes share a scraper.
   * @default {}
   */
  defaultLabels?: Record<string, string>
}

export const defaultMetricsRegistryOptions: Required<MetricsRegistryOptions> = {
  defaultMetrics: true,
  defaultLabels: {}
}

