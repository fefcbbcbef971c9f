import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, type Registry } from 'prom-client'
import { MetricsError, MetricsErrorCode } from './errors.js'

/**
 * Label values of one series, keyed by label name. Every label a metric declares must be
 * given, and where the values are a closed set (`outcome: 'ok' | 'error'`) the type says so.
 */
export type LabelValues = Record<string, string>

/** A value computed when the registry is read (a scrape or the `metrics` RPC). */
export type Collector<T> = () => T | Promise<T>

/** One series of a labelled gauge, as a collector returns it. */
export interface GaugeSample<L extends LabelValues> {
  labels: L
  value: number
}

export interface Counter {
  /** Adds `value` (default 1); negative values throw. */
  inc(value?: number): void
}

export interface LabeledCounter<L extends LabelValues> {
  inc(labels: L, value?: number): void
}

/**
 * A labelled metric whose series a caller that uses one often can bind once: its labels are
 * bounded once, and what it counts is added to the metric when the metric is read (a scrape,
 * the `metrics` RPC), so counting costs next to nothing on a hot path.
 */
export interface Children<L extends LabelValues, T> {
  child(labels: L): T
}

export interface Gauge {
  set(value: number): void
  inc(value?: number): void
  dec(value?: number): void
  /**
   * Computes the value at read time, for values another subsystem owns (store size, peer
   * count). Replaces the previous collector; `undefined` removes it and keeps the last value.
   * A collector that throws leaves the last value and counts `ipvm_metrics_collector_errors_total`.
   */
  setCollector(fn: Collector<number> | undefined): void
}

export interface LabeledGauge<L extends LabelValues> {
  set(labels: L, value: number): void
  inc(labels: L, value?: number): void
  dec(labels: L, value?: number): void
  /** Drops one series. */
  remove(labels: L): void
  /** Drops every series. */
  reset(): void
  /**
   * Computes every series at read time; series the collector no longer returns disappear.
   * Same replacement and error rules as `Gauge.setCollector`.
   */
  setCollector(fn: Collector<ReadonlyArray<GaugeSample<L>>> | undefined): void
}

export interface Histogram {
  observe(value: number): void
  /** Starts a timer; calling the result observes the elapsed seconds and returns them. */
  startTimer(): () => number
}

export interface LabeledHistogram<L extends LabelValues> {
  observe(labels: L, value: number): void
  startTimer(labels: L): () => number
}

interface MetricConfig<L extends LabelValues> {
  name: string
  help: string
  labelNames: ReadonlyArray<keyof L & string>
}

interface HistogramConfig<L extends LabelValues> extends MetricConfig<L> {
  buckets: readonly number[]
}

type Unlabeled<T> = Omit<T, 'labelNames'>

/** Called with a metric's name when its collector throws. */
export type CollectorErrorHandler = (metricName: string, err: unknown) => void

/** The label value that stands for every value past a label's bound. */
export const OTHER_LABEL_VALUE = 'other'
/** Longest label value kept, in characters; longer ones count as `other`. */
export const MAX_LABEL_VALUE_LENGTH = 128

export interface MetricCreatorOptions {
  /**
   * Distinct values each label of one metric takes: the first ones seen are kept, later ones
   * are counted under `other`, so a label fed by clients (a Wasm function's name) cannot grow
   * a metric without end. @default 64 (`metrics.max_label_values`)
   */
  maxLabelValues?: number
}

export const DEFAULT_MAX_LABEL_VALUES = 64

/** Observations a bound histogram series (`child`) holds before adding them to the metric. */
const CHILD_BUFFER = 256

/**
 * The bounded label sets of one metric: per label name, the first `maxValues` distinct
 * values (each at most `MAX_LABEL_VALUE_LENGTH` characters) are kept; any other value
 * becomes `other`. What is kept is never forgotten, so a series never changes name.
 */
export class LabelBound {
  private readonly values = new Map<string, Set<string>>()
  private readonly maxValues: number

  constructor (maxValues: number) {
    this.maxValues = maxValues
  }

  /** `labels` with every value past its label's bound replaced by `other`. */
  apply<L extends LabelValues> (labels: L): L {
    let out: Record<string, string> | undefined
    for (const name of Object.keys(labels)) {
      if (this.admit(name, labels[name])) continue
      out ??= { ...labels }
      out[name] = OTHER_LABEL_VALUE
    }
    return (out ?? labels) as L
  }

  /** Whether every value of `labels` is one of those kept (nothing is admitted). */
  kept (labels: LabelValues): boolean {
    return Object.keys(labels).every(name => this.values.get(name)?.has(labels[name]) === true)
  }

  private admit (name: string, value: string): boolean {
    let kept = this.values.get(name)
    if (kept === undefined) {
      kept = new Set()
      this.values.set(name, kept)
    }
    if (kept.has(value)) return true
    if (value.length > MAX_LABEL_VALUE_LENGTH || kept.size >= this.maxValues) return false
    kept.add(value)
    return true
  }
}

/** Collector samples with bounded labels; samples whose labels became the same are summed. */
function boundSamples<L extends LabelValues> (bound: LabelBound, samples: ReadonlyArray<GaugeSample<L>>): Array<GaugeSample<L>> {
  const byKey = new Map<string, GaugeSample<L>>()
  for (const s of samples) {
    const labels = bound.apply(s.labels)
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1))
    const seen = byKey.get(key)
    if (seen === undefined) byKey.set(key, { labels, value: s.value })
    else seen.value += s.value
  }
  return [...byKey.values()]
}

/**
 * Creates prom-client metrics in one registry and hands out narrow, typed views of them
 * (the shape of Lodestar's `RegistryMetricCreator`). Every labelled metric bounds its label
 * values (`LabelBound`): past `maxLabelValues` distinct values of a label, the rest are `other`.
 */
export class MetricCreator {
  private readonly registry: Registry
  private onCollectorError: CollectorErrorHandler
  private readonly maxLabelValues: number

  constructor (registry: Registry, onCollectorError: CollectorErrorHandler = () => {}, options: MetricCreatorOptions = {}) {
    this.registry = registry
    this.onCollectorError = onCollectorError
    this.maxLabelValues = options.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES
  }

  /** Replaces the handler told about failing collectors. */
  setCollectorErrorHandler (fn: CollectorErrorHandler): void {
    this.onCollectorError = fn
  }

  counter (config: Unlabeled<MetricConfig<LabelValues>>): Counter {
    const c = new PromCounter({ name: this.free(config.name), help: config.help, registers: [this.registry] })
    return { inc: (value) => { c.inc(value) } }
  }

  labeledCounter<L extends LabelValues> (config: MetricConfig<L>): LabeledCounter<L> & Children<L, Counter> {
    const flushes: Array<() => void> = []
    const c = new PromCounter<keyof L & string>({ name: this.free(config.name), help: config.help, labelNames: config.labelNames, registers: [this.registry], collect () { for (const flush of flushes) flush() } })
    const bound = new LabelBound(this.maxLabelValues)
    return {
      inc: (labels, value) => { c.inc(bound.apply(labels), value) },
      child: (labels) => {
        // counted here and added to the series when the metric is read
        const series = c.labels(bound.apply(labels))
        let pending = 0
        flushes.push(() => {
          if (pending === 0) return
          series.inc(pending)
          pending = 0
        })
        return {
          inc: (value = 1) => {
            if (value < 0) throw new TypeError('a counter only goes up')
            pending += value
          }
        }
      }
    }
  }

  gauge (config: Unlabeled<MetricConfig<LabelValues>>): Gauge {
    let collector: Collector<number> | undefined
    const onError = (err: unknown): void => { this.onCollectorError(config.name, err) }
    const g = new PromGauge({
      name: this.free(config.name),
      help: config.help,
      registers: [this.registry],
      async collect () {
        if (collector === undefined) return
        try {
          this.set(await collector())
        } catch (err) {
          onError(err)
        }
      }
    })
    return {
      set: (value) => { g.set(value) },
      inc: (value) => { g.inc(value) },
      dec: (value) => { g.dec(value) },
      setCollector: (fn) => { collector = fn }
    }
  }

  labeledGauge<L extends LabelValues> (config: MetricConfig<L>): LabeledGauge<L> {
    let collector: Collector<ReadonlyArray<GaugeSample<L>>> | undefined
    const bound = new LabelBound(this.maxLabelValues)
    const onError = (err: unknown): void => { this.onCollectorError(config.name, err) }
    const g = new PromGauge<keyof L & string>({
      name: this.free(config.name),
      help: config.help,
      labelNames: config.labelNames,
      registers: [this.registry],
      async collect () {
        if (collector === undefined) return
        try {
          const samples = await collector()
          for (const s of samples) {
            if (typeof s.value !== 'number') throw new TypeError(`not a number: ${String(s.value)}`)
          }
          this.reset()
          for (const s of boundSamples(bound, samples)) this.set(s.labels, s.value)
        } catch (err) {
          onError(err)
        }
      }
    })
    return {
      set: (labels, value) => { g.set(bound.apply(labels), value) },
      inc: (labels, value) => { g.inc(bound.apply(labels), value) },
      dec: (labels, value) => { g.dec(bound.apply(labels), value) },
      // a series under `other` holds other values too: it is not removed for one of them
      remove: (labels) => { if (bound.kept(labels)) g.remove(labels) },
      reset: () => { g.reset() },
      setCollector: (fn) => { collector = fn }
    }
  }

  histogram (config: Unlabeled<HistogramConfig<LabelValues>>): Histogram {
    const h = new PromHistogram({ name: this.free(config.name), help: config.help, buckets: [...config.buckets], registers: [this.registry] })
    return {
      observe: (value) => { h.observe(value) },
      startTimer: () => h.startTimer()
    }
  }

  labeledHistogram<L extends LabelValues> (config: HistogramConfig<L>): LabeledHistogram<L> & Children<L, Pick<Histogram, 'observe'>> {
    const flushes: Array<() => void> = []
    const h = new PromHistogram<keyof L & string>({ name: this.free(config.name), help: config.help, labelNames: config.labelNames, buckets: [...config.buckets], registers: [this.registry], collect () { for (const flush of flushes) flush() } })
    const bound = new LabelBound(this.maxLabelValues)
    return {
      observe: (labels, value) => { h.observe(bound.apply(labels), value) },
      startTimer: (labels) => h.startTimer(bound.apply(labels)),
      child: (labels) => {
        // observations wait in a small buffer, added to the series when it is full or the metric is read
        const series = h.labels(bound.apply(labels))
        const pending = new Float64Array(CHILD_BUFFER)
        let count = 0
        const flush = (): void => {
          for (let i = 0; i < count; i++) series.observe(pending[i])
          count = 0
        }
        flushes.push(flush)
        return {
          observe: (value) => {
            pending[count++] = value
            if (count === CHILD_BUFFER) flush()
          }
        }
      }
    }
  }

  /** Refuses a name already in the registry with a coded error instead of prom-client's plain one. */
  private free (name: string): string {
    if (this.registry.getSingleMetric(name) !== undefined) {
      throw new MetricsError(MetricsErrorCode.DUPLICATE_METRIC, `a metric named ${name} is already registered`, { name })
    }
    return name
  }
}
