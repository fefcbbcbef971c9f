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
