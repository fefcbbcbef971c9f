import { describe, expect, it } from 'vitest'
import { LabelBound, MAX_LABEL_VALUE_LENGTH, OTHER_LABEL_VALUE, createMetrics, createMetricsRegistry } from '../../../src/metrics/index.js'
import { seriesValue } from '../../utils/read-series.js'

describe('LabelBound', () => {
  it('keeps the first N distinct values of each label; later ones and over-long ones are "other"; a kept value stays kept', () => {
    const bound = new LabelBound(2)
    expect(bound.apply({ op: 'a', outcome: 'ok' })).toEqual({ op: 'a', outcome: 'ok' })
    expect(bound.apply({ op: 'b', outcome: 'error' })).toEqual({ op: 'b', outcome: 'error' })
    expect(bound.apply({ op: 'c', outcome: 'ok' })).toEqual({ op: OTHER_LABEL_VALUE, outcome: 'ok' })
    expect(bound.apply({ op: 'a', outcome: 'x' })).toEqual({ op: 'a', outcome: OTHER_LABEL_VALUE })
    expect(new LabelBound(64).apply({ op: 'f'.repeat(MAX_LABEL_VALUE_LENGTH + 1) })).toEqual({ op: OTHER_LABEL_VALUE })
    expect(bound.kept({ op: 'a' })).toBe(true)
    expect(bound.kept({ op: 'c' })).toBe(false)
  })
})

describe('bounded labels on every labelled metric', () => {
  it('2000 function names make at most N+1 series per metric, the rest counted under "other"', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const metrics = createMetrics(registry, { maxLabelValues: 8 })
    for (let i = 0; i < 2000; i++) {
      const op = `fn_${i}_${'x'.repeat(i % 300)}`
      metrics.tasks.executed.inc({ op })
      metrics.tasks.durationSeconds.observe({ op }, 0.001)
      metrics.rpc.subscriptions.set({ kind: op }, 1)
    }
    const executed = await registry.getSingleMetric('ipvm_tasks_executed_total')!.get()
    expect(executed.values).toHaveLength(9)
    expect(await seriesValue(registry, 'ipvm_tasks_executed_total', { op: OTHER_LABEL_VALUE })).toBe(2000 - 8)
    expect(await seriesValue(registry, 'ipvm_tasks_executed_total', { op: 'fn_0_' })).toBe(1)
    const histogram = await registry.getSingleMetric('ipvm_task_duration_seconds')!.get()
    expect(new Set(histogram.values.map(v => v.labels.op)).size).toBe(9)
    expect((await registry.metrics()).length).toBeLessThan(20_000)
  })

  it('a series bound once (child) adds to the same series as the labels given each time, bounded the same way', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const metrics = createMetrics(registry, { maxLabelValues: 1 })
    const health = metrics.rpc.requests.child({ method: 'health', outcome: 'ok' })
    health.inc()
    metrics.rpc.requests.inc({ method: 'health', outcome: 'ok' }, 2)
    health.inc(4)
    expect(await seriesValue(registry, 'ipvm_rpc_requests_total', { method: 'health', outcome: 'ok' })).toBe(7)
    // past the bound: the bound child counts under "other" too
    metrics.rpc.requests.child({ method: 'node', outcome: 'ok' }).inc()
    expect(await seriesValue(registry, 'ipvm_rpc_requests_total', { method: OTHER_LABEL_VALUE, outcome: 'ok' })).toBe(1)
    const seconds = metrics.rpc.durationSeconds.child({ method: 'health' })
    seconds.observe(0.5)
    metrics.rpc.durationSeconds.observe({ method: 'health' }, 1.5)
    const histogram = await registry.getSingleMetric('ipvm_rpc_request_duration_seconds')!.get()
    const of = (name: string): number | undefined => (histogram.values as Array<{ metricName?: string, labels: Record<string, unknown>, value: number }>).find(v => v.metricName === name && v.labels.method === 'health')?.value
    expect(of('ipvm_rpc_request_duration_seconds_count')).toBe(2)
    expect(of('ipvm_rpc_request_duration_seconds_sum')).toBe(2)
    // more observations than the child holds between reads: none is lost, each in its bucket
    for (let i = 0; i < 1000; i++) seconds.observe(i % 2 === 0 ? 0.0001 : 100)
    const after = await registry.getSingleMetric('ipvm_rpc_request_duration_seconds')!.get()
    const series = (after.values as Array<{ metricName?: string, labels: Record<string, unknown>, value: number }>).filter(v => v.labels.method === 'health')
    expect(series.find(v => v.metricName === 'ipvm_rpc_request_duration_seconds_count')?.value).toBe(1002)
    expect(series.find(v => v.metricName === 'ipvm_rpc_request_duration_seconds_sum')?.value).toBeCloseTo(2 + 500 * 0.0001 + 500 * 100, 6)
    const smallest = series.filter(v => v.metricName === 'ipvm_rpc_request_duration_seconds_bucket').sort((a, b) => Number(a.labels.le) - Number(b.labels.le))[0]
    expect(smallest.value).toBe(500)
  })

  it('collector samples whose labels become "other" are added up', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const metrics = createMetrics(registry, { maxLabelValues: 2 })
    metrics.rpc.subscriptions.setCollector(() => ['a', 'b', 'c', 'd'].map((kind, i) => ({ labels: { kind }, value: i + 1 })))
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'a' })).toBe(1)
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'b' })).toBe(2)
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: OTHER_LABEL_VALUE })).toBe(7)
  })

  it('removing a value that was counted under "other" leaves "other" alone', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const metrics = createMetrics(registry, { maxLabelValues: 1 })
    metrics.rpc.subscriptions.set({ kind: 'a' }, 1)
    metrics.rpc.subscriptions.set({ kind: 'b' }, 5)
    metrics.rpc.subscriptions.remove({ kind: 'b' })
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: OTHER_LABEL_VALUE })).toBe(5)
    metrics.rpc.subscriptions.remove({ kind: 'a' })
    expect(await seriesValue(registry, 'ipvm_rpc_subscriptions', { kind: 'a' })).toBeUndefined()
  })
})
