import type { Registry } from 'prom-client'
import { MetricsError, MetricsErrorCode } from './errors.js'

/**
 * The JSON form of the registry (`schemas/metrics.json`), what the `metrics` RPC method
 * returns. Field names are Homestar's (§10.2); unlike Homestar, counters say `counter`,
 * every family is present, and histogram buckets and summary quantiles are arrays.
 * Every number is a string in the Prometheus text spelling (`"NaN"`, `"+Inf"`).
 */
export interface MetricsJson {
  metrics: MetricFamilyJson[]
}

export type MetricTypeName = 'counter' | 'gauge' | 'histogram' | 'summary'

/** `null` when the series has no labels. */
export type LabelsJson = Record<string, string> | null

export interface SampleJson {
  type: 'metric'
  labels: LabelsJson
  value: string
}

export interface HistogramJson {
  type: 'histogram'
  labels: LabelsJson
  /** Cumulative counts, ascending `le`, ending with `"+Inf"`. */
  buckets: Array<{ le: string, count: string }>
  count: string
  sum: string
}

export interface SummaryJson {
  type: 'summary'
  labels: LabelsJson
  quantiles: Array<{ quantile: string, value: string }>
  count: string
  sum: string
}

export type MetricFamilyJson =
  | { metric_type: 'counter' | 'gauge', metric_name: string, help: string, data: SampleJson[] }
  | { metric_type: 'histogram', metric_name: string, help: string, data: HistogramJson[] }
  | { metric_type: 'summary', metric_name: string, help: string, data: SummaryJson[] }

export interface MetricsJsonOptions {
  /**
   * Keep only families whose `metric_name` starts with this, e.g. `"ipvm_tasks"`.
   * @default "" (every family)
   */
  prefix?: string
}

type RegistryFamily = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number]
type RawValue = RegistryFamily['values'][number] & { metricName?: string }

/** prom-client types `type` as a numeric enum but sets the strings at run time; accept both. */
const NUMERIC_TYPES: readonly MetricTypeName[] = ['counter', 'gauge', 'histogram', 'summary']

function typeName (family: RegistryFamily): MetricTypeName {
  const t: unknown = family.type
  if (typeof t === 'number' && NUMERIC_TYPES[t] !== undefined) return NUMERIC_TYPES[t]
  if (t === 'counter' || t === 'gauge' || t === 'histogram' || t === 'summary') return t
  throw new MetricsError(MetricsErrorCode.UNKNOWN_TYPE, `metric ${family.name} has type ${String(t)}`, { metric_name: family.name, type: String(t) })
}

/** A sample value in the Prometheus text spelling. */
export function formatValue (n: number | string): string {
  if (typeof n === 'string') return n
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

/** Labels as strings, without the ones named in `omit`; `null` when none remain. */
function labelsOf (raw: RawValue['labels'], omit?: string): LabelsJson {
  let out: Record<string, string> | null = null
  for (const [k, v] of Object.entries(raw)) {
    if (k === omit || v === undefined) continue
    out ??= {}
    out[k] = String(v)
  }
  return out
}

function seriesKey (labels: LabelsJson): string {
  return labels === null ? '' : JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

/** Groups a family's raw values by series (labels without `le`/`quantile`), keeping first-seen order. */
function groupSeries<T extends { labels: LabelsJson }> (values: RawValue[], omit: string, make: (labels: LabelsJson) => T, add: (item: T, v: RawValue) => void): T[] {
  const bySeries = new Map<string, T>()
  for (const v of values) {
    const labels = labelsOf(v.labels, omit)
    const key = seriesKey(labels)
    let item = bySeries.get(key)
    if (item === undefined) {
      item = make(labels)
      bySeries.set(key, item)
    }
    add(item, v)
  }
  return [...bySeries.values()]
}

function histogramData (family: RegistryFamily): HistogramJson[] {
  const name = family.name
  return groupSeries(family.values as RawValue[], 'le',
    (labels): HistogramJson => ({ type: 'histogram', labels, buckets: [], count: '0', sum: '0' }),
    (item, v) => {
      if (v.metricName === `${name}_sum`) item.sum = formatValue(v.value)
      else if (v.metricName === `${name}_count`) item.count = formatValue(v.value)
      else item.buckets.push({ le: formatValue(v.labels.le ?? '+Inf'), count: formatValue(v.value) })
    })
}

function summaryData (family: RegistryFamily): SummaryJson[] {
  const name = family.name
  return groupSeries(family.values as RawValue[], 'quantile',
    (labels): SummaryJson => ({ type: 'summary', labels, quantiles: [], count: '0', sum: '0' }),
    (item, v) => {
      if (v.metricName === `${name}_sum`) item.sum = formatValue(v.value)
      else if (v.metricName === `${name}_count`) item.count = formatValue(v.value)
      else item.quantiles.push({ quantile: formatValue(v.labels.quantile ?? 'NaN'), value: formatValue(v.value) })
    })
}

function familyToJson (family: RegistryFamily): MetricFamilyJson {
  const type = typeName(family)
  const head = { metric_name: family.name, help: family.help }
  switch (type) {
    case 'histogram':
      return { metric_type: type, ...head, data: histogramData(family) }
    case 'summary':
      return { metric_type: type, ...head, data: summaryData(family) }
    default:
      return {
        metric_type: type,
        ...head,
        data: family.values.map((v): SampleJson => ({ type: 'metric', labels: labelsOf(v.labels), value: formatValue(v.value) }))
      }
  }
}

/**
 * Reads every metric of `registry` (collectors run, as for a scrape) and returns the JSON
 * form, in registration order, keeping only names that start with `options.prefix`.
 */
export async function metricsToJson (registry: Registry, options: MetricsJsonOptions = {}): Promise<MetricsJson> {
  const prefix = options.prefix ?? ''
  const families = await registry.getMetricsAsJSON()
  return {
    metrics: families.filter((f) => f.name.startsWith(prefix)).map(familyToJson)
  }
}
