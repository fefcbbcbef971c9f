import { describe, it, expect, beforeEach } from 'vitest'
import { type Registry, register as globalRegister } from 'prom-client'
import { createMetrics, createMetricsRegistry, MetricsErrorCode, TASK_DURATION_BUCKETS_SECONDS, type Metrics } from '../../../src/metrics/index.js'
import { seriesValue } from '../../utils/read-series.js'

describe('createMetricsRegistry', () => {
  it('is a registry of its own with the process metrics, never the global one', async () => {
    const before = (await globalRegister.getMetricsAsJSON()).length
    const registry = createMetricsRegistry()
    expect(registry).not.toBe(globalRegister)
    const names = registry.getMetricsAsArray().map((m) => m.name)
    expect(names).toContain('process_cpu_seconds_total')
    expect(names).toContain('nodejs_eventloop_lag_seconds')
    expect((await globalRegister.getMetricsAsJSON()).length).toBe(before)
  })

  it('can leave the process metrics out and add default labels', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false, defaultLabels: { node: 'a' } })
    expect(registry.getMetricsAsArray()).toHaveLength(0)
    const metrics = createMetrics(registry)
    metrics.receipts.stored.inc()
    expect(await registry.getSingleMetricAsString('ipvm_receipts_stored_total')).toContain('ipvm_receipts_stored_total{node="a"} 1')
  })
})

describe('createMetrics', () => {
  let registry: Registry
  let metrics: Metrics

  beforeEach(() => {
    registry = createMetricsRegistry({ defaultMetrics: false })
    metrics = createMetrics(registry)
  })

  it('names every metric ipvm_ with a unit suffix, _total exactly on counters', () => {
    const all = registry.getMetricsAsArray()
    expect(all.map((m) => m.name).sort()).toEqual([
      'ipvm_compute_completed_total',
      'ipvm_compute_dispatched_total',
      'ipvm_compute_failed_total',
      'ipvm_compute_latency_seconds',
      'ipvm_compute_offers',
      'ipvm_compute_remote_in_flight',
      'ipvm_compute_served_total',
      'ipvm_dht_operations_total',
      'ipvm_dht_record_bytes',
      'ipvm_dht_records',
      'ipvm_gossip_messages_total',
      'ipvm_metrics_collector_errors_total',
      'ipvm_network_peers',
      'ipvm_node_info',
      'ipvm_node_start_time_seconds',
      'ipvm_peer_input_dropped_total',
      'ipvm_receipt_candidates',
      'ipvm_receipt_conflicts_total',
      'ipvm_receipts_from_peers_total',
      'ipvm_receipts_invalid_from_peers_total',
      'ipvm_receipts_stored_total',
      'ipvm_rpc_connections',
      'ipvm_rpc_dropped_clients_total',
      'ipvm_rpc_request_duration_seconds',
      'ipvm_rpc_requests_total',
      'ipvm_rpc_subscriptions',
      'ipvm_store_size_bytes',
      'ipvm_task_duration_seconds',
      'ipvm_task_retries_total',
      'ipvm_tasks_executed_total',
      'ipvm_tasks_failed_total',
      'ipvm_tasks_replayed_total',
      'ipvm_workflows_cancelled_total',
      'ipvm_workflows_completed_total',
      'ipvm_workflows_failed_total',
      'ipvm_workflows_running',
      'ipvm_workflows_started_total'
    ])
    for (const m of all) {
      expect(m.name).toMatch(/^ipvm_[a-z0-9_]+$/)
      const type = String(m.type)
      if (type === 'counter') expect(m.name).toMatch(/_total$/)
      else expect(m.name).not.toMatch(/_total$/)
      if (type === 'histogram') expect(m.name).toMatch(/_seconds$/)
      expect(m.help.length).toBeGreaterThan(10)
    }
  })

  it('moves workflow counters and the running gauge by the amounts given', async () => {
    metrics.workflow.started.inc()
    metrics.workflow.started.inc(2)
    metrics.workflow.completed.inc()
    metrics.workflow.failed.inc(4)
    metrics.workflow.running.inc(3)
    metrics.workflow.running.dec()
    expect(await seriesValue(registry, 'ipvm_workflows_started_total')).toBe(3)
    expect(await seriesValue(registry, 'ipvm_workflows_completed_total')).toBe(1)
    expect(await seriesValue(registry, 'ipvm_workflows_failed_total')).toBe(4)
    expect(await seriesValue(registry, 'ipvm_workflows_cancelled_total')).toBe(0)
    expect(await seriesValue(registry, 'ipvm_workflows_running')).toBe(2)
  })

  it('keeps labelled series apart', async () => {
    metrics.tasks.executed.inc({ op: 'add_one' })
    metrics.tasks.executed.inc({ op: 'add_one' }, 5)
    metrics.tasks.executed.inc({ op: 'crop' })
    metrics.tasks.retried.inc({ op: 'crop' }, 2)
    metrics.rpc.requests.inc({ method: 'health', outcome: 'ok' })
    metrics.rpc.requests.inc({ method: 'health', outcome: 'error' }, 3)
    metrics.network.gossipMessages.inc({ direction: 'in' }, 7)
    metrics.network.dhtOps.inc({ op: 'put', outcome: 'timeout' })
    metrics.receipts.invalidFromPeers.inc({ reason: 'cid_mismatch' })
    metrics.rpc.droppedClients.inc({ reason: 'slow_consumer' })
    expect(await seriesValue(registry, 'ipvm_tasks_executed_total', { op: 'add_one' })).toBe(6)
    expect(await seriesValue(registry, 'ipvm_tasks_executed_total', { op: 'crop' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_tasks_replayed_total', { op: 'crop' })).toBeUndefined()
    expect(await seriesValue(registry, 'ipvm_task_retries_total', { op: 'crop' })).toBe(2)
    expect(await seriesValue(registry, 'ipvm_rpc_requests_total', { method: 'health', outcome: 'ok' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_rpc_requests_total', { method: 'health', outcome: 'error' })).toBe(3)
    expect(await seriesValue(registry, 'ipvm_gossip_messages_total', { direction: 'in' })).toBe(7)
    expect(await seriesValue(registry, 'ipvm_dht_operations_total', { op: 'put', outcome: 'timeout' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_receipts_invalid_from_peers_total', { reason: 'cid_mismatch' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_rpc_dropped_clients_total', { reason: 'slow_consumer' })).toBe(1)
  })

  it('checks label names and values at compile time', () => {
    // @ts-expect-error outcome is 'ok' | 'error'
    const badOutcome = (): void => { metrics.rpc.requests.inc({ method: 'health', outcome: 'maybe' }) }
    // @ts-expect-error every declared label is required
    const missingLabel = (): void => { metrics.tasks.executed.inc({}) }
    // @ts-expect-error a counter only goes up through inc
    const noSet = (): void => { metrics.workflow.started.set(1) }
    expect([badOutcome, missingLabel, noSet].every((f) => typeof f === 'function')).toBe(true)
  })

  it('refuses a negative counter increment', async () => {
    expect(() => { metrics.receipts.stored.inc(-1) }).toThrow()
    expect(await seriesValue(registry, 'ipvm_receipts_stored_total')).toBe(0)
  })

  it('buckets task durations from 1 ms to 60 s', async () => {
    expect(TASK_DURATION_BUCKETS_SECONDS[0]).toBe(0.001)
    expect(TASK_DURATION_BUCKETS_SECONDS.at(-1)).toBe(60)
    metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 0.0004)
    metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 45)
    expect(await seriesValue(registry, 'ipvm_task_duration_seconds', { op: 'add_one', le: '0.001' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_task_duration_seconds', { op: 'add_one', le: '30' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_task_duration_seconds', { op: 'add_one', le: '60' })).toBe(2)
    const end = metrics.tasks.durationSeconds.startTimer({ op: 'add_one' })
    expect(end()).toBeGreaterThanOrEqual(0)
    expect(await seriesValue(registry, 'ipvm_task_duration_seconds', { op: 'add_one', le: '+Inf' })).toBe(3)
  })

  it('reads gauges from collectors passed in from outside', async () => {
    let size = 1234
    metrics.store.sizeBytes.setCollector(() => size)
    metrics.network.peers.setCollector(async () => await Promise.resolve(5))
    expect(await seriesValue(registry, 'ipvm_store_size_bytes')).toBe(1234)
    expect(await seriesValue(registry, 'ipvm_network_peers')).toBe(5)
    size = 4096
    expect(await seriesValue(registry, 'ipvm_store_size_bytes')).toBe(4096)
    metrics.store.sizeBytes.setCollector(undefined)
    size = 1
    expect(await seriesValue(registry, 'ipvm_store_size_bytes')).toBe(4096)
  })

  it('replaces the series of a labelled gauge on each collection', async () => {
    let samples = [{ labels: { kind: 'run_workflow' }, value: 2 }, { labels: { kind: 'network_events' }, value: 1 }]
    metrics.rpc.subscriptions.setCollector(() => samples)
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'run_workflow' })).toBe(2)
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'network_events' })).toBe(1)
    samples = [{ labels: { kind: 'run_workflow' }, value: 3 }]
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'run_workflow' })).toBe(3)
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'network_events' })).toBeUndefined()
  })

  it('keeps the last value and counts the error when a collector throws', async () => {
    let fail = false
    metrics.rpc.connections.setCollector(() => {
      if (fail) throw new Error('socket table unavailable')
      return 4
    })
    expect(await seriesValue(registry, 'ipvm_rpc_connections')).toBe(4)
    fail = true
    expect(await seriesValue(registry, 'ipvm_rpc_connections')).toBe(4)
    expect(await registry.metrics()).toContain('ipvm_rpc_connections 4')
    expect(await seriesValue(registry, 'ipvm_metrics_collector_errors_total', { metric: 'ipvm_rpc_connections' })).toBe(2)
  })

  it('sets node info and the start time', async () => {
    const before = Date.now() / 1000
    const own = createMetricsRegistry({ defaultMetrics: false })
    const fresh = createMetrics(own)
    const after = Date.now() / 1000
    const start = await seriesValue(own, 'ipvm_node_start_time_seconds')
    expect(start).toBeGreaterThanOrEqual(before)
    expect(start).toBeLessThanOrEqual(after)
    fresh.node.info.set({ version: '0.1.0', peer_id: '12D3KooWExample' }, 1)
    expect(await seriesValue(own, 'ipvm_node_info', { version: '0.1.0', peer_id: '12D3KooWExample' })).toBe(1)
  })

  it('refuses to register the tree twice in one registry', () => {
    expect(() => createMetrics(registry)).toThrow(expect.objectContaining({ code: MetricsErrorCode.DUPLICATE_METRIC }))
  })
})
