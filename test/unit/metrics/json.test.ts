import { describe, it, expect, beforeAll } from 'vitest'
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { Counter, Gauge, Summary, type Registry } from 'prom-client'
import { createMetrics, createMetricsRegistry, metricsToJson, type Metrics, type MetricsJson, type HistogramJson, type SummaryJson, type SampleJson } from '../../../src/metrics/index.js'

// ajv-formats is CommonJS: under NodeNext the default import is module.exports, whose `default` is the plugin
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default

let validate: ValidateFunction
beforeAll(() => {
  const schema = JSON.parse(readFileSync(new URL('../../../schemas/metrics.json', import.meta.url), 'utf8')) as Record<string, unknown>
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  validate = ajv.compile(schema)
})

function expectValid (doc: unknown): void {
  const ok = validate(doc)
  expect(validate.errors ?? []).toEqual([])
  expect(ok).toBe(true)
}

function family (doc: MetricsJson, name: string): MetricsJson['metrics'][number] {
  const f = doc.metrics.find((m) => m.metric_name === name)
  if (f === undefined) throw new Error(`no family ${name}`)
  return f
}

function setup (): { registry: Registry, metrics: Metrics } {
  const registry = createMetricsRegistry()
  return { registry, metrics: createMetrics(registry) }
}

describe('metricsToJson', () => {
  it('gives every family of the registry, process metrics included, and validates against schemas/metrics.json', async () => {
    const { registry, metrics } = setup()
    metrics.workflow.started.inc(2)
    metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 0.02)
    metrics.rpc.requests.inc({ method: 'health', outcome: 'ok' })
    const doc = await metricsToJson(registry)
    expectValid(doc)
    const registered = registry.getMetricsAsArray().map((m) => m.name)
    expect(doc.metrics.map((m) => m.metric_name)).toEqual(registered)
    expect(doc.metrics.at(-1)?.metric_name).toBe(registered.at(-1))
    expect(family(doc, 'process_cpu_seconds_total').metric_type).toBe('counter')
    expect(family(doc, 'nodejs_gc_duration_seconds').metric_type).toBe('histogram')
  })

  it('writes counters and gauges as Homestar-style samples with string values', async () => {
    const { registry, metrics } = setup()
    metrics.workflow.started.inc(3)
    metrics.store.sizeBytes.setCollector(() => 45969408)
    metrics.rpc.requests.inc({ method: 'workflow_status', outcome: 'error' }, 2)
    const doc = await metricsToJson(registry, { prefix: 'ipvm_' })
    expectValid(doc)
    expect(family(doc, 'ipvm_workflows_started_total')).toEqual({
      metric_type: 'counter',
      metric_name: 'ipvm_workflows_started_total',
      help: 'Workflow runs started, resumed runs included.',
      data: [{ type: 'metric', labels: null, value: '3' }]
    })
    expect(Object.keys(family(doc, 'ipvm_store_size_bytes'))).toEqual(['metric_type', 'metric_name', 'help', 'data'])
    expect(family(doc, 'ipvm_store_size_bytes').data).toEqual([{ type: 'metric', labels: null, value: '45969408' }])
    expect(family(doc, 'ipvm_store_size_bytes').metric_type).toBe('gauge')
    expect(family(doc, 'ipvm_rpc_requests_total').data).toEqual([{ type: 'metric', labels: { method: 'workflow_status', outcome: 'error' }, value: '2' }])
    expect(Object.keys(family(doc, 'ipvm_rpc_requests_total').data[0] as SampleJson)).toEqual(['type', 'labels', 'value'])
    expect(family(doc, 'ipvm_rpc_subscriptions').data).toEqual([])
  })

  it('filters by metric_name prefix', async () => {
    const { registry, metrics } = setup()
    metrics.tasks.executed.inc({ op: 'crop' })
    const tasksOnly = await metricsToJson(registry, { prefix: 'ipvm_tasks_' })
    expectValid(tasksOnly)
    expect(tasksOnly.metrics.map((m) => m.metric_name)).toEqual(['ipvm_tasks_executed_total', 'ipvm_tasks_replayed_total', 'ipvm_tasks_failed_total'])
    const ipvm = await metricsToJson(registry, { prefix: 'ipvm_' })
    expect(ipvm.metrics.length).toBe(37)
    expect(ipvm.metrics.every((m) => m.metric_name.startsWith('ipvm_'))).toBe(true)
    const all = await metricsToJson(registry)
    expect(all.metrics.length).toBeGreaterThan(ipvm.metrics.length)
    expect(all.metrics.some((m) => m.metric_name.startsWith('process_'))).toBe(true)
    expect((await metricsToJson(registry, { prefix: 'no_such_' })).metrics).toEqual([])
  })

  it('represents a histogram per series with cumulative buckets, count and sum', async () => {
    const { registry, metrics } = setup()
    metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 0.003)
    metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 0.2)
    metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 120)
    metrics.tasks.durationSeconds.observe({ op: 'crop' }, 2)
    const doc = await metricsToJson(registry, { prefix: 'ipvm_task_duration_seconds' })
    expectValid(doc)
    const f = family(doc, 'ipvm_task_duration_seconds')
    expect(f.metric_type).toBe('histogram')
    const data = f.data as HistogramJson[]
    expect(data.map((d) => d.labels)).toEqual([{ op: 'add_one' }, { op: 'crop' }])
    const addOne = data[0]
    expect(Object.keys(addOne)).toEqual(['type', 'labels', 'buckets', 'count', 'sum'])
    expect(addOne.type).toBe('histogram')
    expect(addOne.count).toBe('3')
    expect(addOne.sum).toBe(String(0.003 + 0.2 + 120))
    expect(addOne.buckets.map((b) => b.le)).toEqual(['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '+Inf'])
    expect(addOne.buckets.map((b) => b.count)).toEqual(['0', '0', '1', '1', '1', '1', '1', '2', '2', '2', '2', '2', '2', '2', '2', '3'])
    const crop = data[1]
    expect(crop.count).toBe('1')
    expect(crop.buckets.find((b) => b.le === '2.5')?.count).toBe('1')
    expect(crop.buckets.find((b) => b.le === '1')?.count).toBe('0')
  })

  it('represents a summary per series with its quantiles, count and sum', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const summary = new Summary({ name: 'test_fetch_seconds', help: 'Fetch time.', labelNames: ['source'], percentiles: [0.5, 0.9], registers: [registry] })
    for (let i = 1; i <= 10; i++) summary.observe({ source: 'kubo' }, i)
    summary.observe({ source: 'peer' }, 0.5)
    const doc = await metricsToJson(registry)
    expectValid(doc)
    const f = family(doc, 'test_fetch_seconds')
    expect(f.metric_type).toBe('summary')
    expect(f.data).toHaveLength(2)
    const kubo = f.data[0] as SummaryJson
    const peer = f.data[1] as SummaryJson
    expect(Object.keys(kubo)).toEqual(['type', 'labels', 'quantiles', 'count', 'sum'])
    expect(kubo.type).toBe('summary')
    expect(kubo.labels).toEqual({ source: 'kubo' })
    expect(kubo.count).toBe('10')
    expect(kubo.sum).toBe('55')
    expect(kubo.quantiles.map((q) => q.quantile)).toEqual(['0.5', '0.9'])
    const [median, p90] = kubo.quantiles.map((q) => Number(q.value))
    expect(median).toBeGreaterThanOrEqual(4)
    expect(median).toBeLessThanOrEqual(7)
    expect(p90).toBeGreaterThanOrEqual(median ?? Infinity)
    expect(p90).toBeLessThanOrEqual(10)
    expect(peer).toEqual({ type: 'summary', labels: { source: 'peer' }, quantiles: [{ quantile: '0.5', value: '0.5' }, { quantile: '0.9', value: '0.5' }], count: '1', sum: '0.5' })
  })

  it('spells non-finite values as Prometheus does and stringifies numeric labels', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const g = new Gauge({ name: 'test_temperature', help: 'T.', labelNames: ['zone'], registers: [registry] })
    g.set({ zone: 1 }, NaN)
    g.set({ zone: 2 }, Infinity)
    g.set({ zone: 3 }, -Infinity)
    g.set({ zone: 4 }, -0.25)
    const doc = await metricsToJson(registry)
    expectValid(doc)
    expect(family(doc, 'test_temperature').data).toEqual([
      { type: 'metric', labels: { zone: '1' }, value: 'NaN' },
      { type: 'metric', labels: { zone: '2' }, value: '+Inf' },
      { type: 'metric', labels: { zone: '3' }, value: '-Inf' },
      { type: 'metric', labels: { zone: '4' }, value: '-0.25' }
    ])
  })

  it('includes the default labels of the registry', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false, defaultLabels: { node: 'a' } })
    const c = new Counter({ name: 'test_events_total', help: 'Events.', registers: [registry] })
    c.inc()
    const doc = await metricsToJson(registry)
    expect(family(doc, 'test_events_total').data).toEqual([{ type: 'metric', labels: { node: 'a' }, value: '1' }])
  })
})

describe('schemas/metrics.json', () => {
  const good = { metric_type: 'gauge', metric_name: 'ipvm_x', help: 'h', data: [{ type: 'metric', labels: null, value: '1' }] }

  it('accepts Homestar-shaped gauge output', () => {
    expectValid({ metrics: [good] })
    expectValid({ metrics: [{ ...good, metric_name: 'homestar_system_available_memory_bytes', data: [{ type: 'metric', labels: { a: 'b' }, value: '45969408' }] }] })
  })

  it.each([
    ['a numeric value', { ...good, data: [{ type: 'metric', labels: null, value: 1 }] }],
    ['a value that is not a number', { ...good, data: [{ type: 'metric', labels: null, value: 'lots' }] }],
    ['an unknown metric type', { ...good, metric_type: 'untyped' }],
    ['a missing help', { metric_type: 'gauge', metric_name: 'x', data: [] }],
    ['histogram data on a gauge', { ...good, data: [{ type: 'histogram', labels: null, buckets: [{ le: '+Inf', count: '1' }], count: '1', sum: '1' }] }],
    ['a histogram without buckets', { ...good, metric_type: 'histogram', data: [{ type: 'histogram', labels: null, buckets: [], count: '0', sum: '0' }] }],
    ['a summary without quantiles', { ...good, metric_type: 'summary', data: [{ type: 'summary', labels: null, count: '0', sum: '0' }] }],
    ['a numeric label value', { ...good, data: [{ type: 'metric', labels: { zone: 1 }, value: '1' }] }],
    ['an extra field', { ...good, unit: 'seconds' }]
  ])('rejects %s', (_what, bad) => {
    expect(validate({ metrics: [bad] })).toBe(false)
  })
})
