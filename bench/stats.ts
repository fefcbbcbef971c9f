/** Latency samples (milliseconds) reduced to the figures the report prints. */
export interface LatencySummary {
  n: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
}

/** Nearest-rank percentile of sorted samples. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

export function summarize (samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b)
  const sum = sorted.reduce((s, v) => s + v, 0)
  return {
    n: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
    meanMs: sorted.length > 0 ? sum / sorted.length : Number.NaN
  }
}

export function median (values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}

/**
 * Runs `total` jobs with at most `inFlight` of them pending at once; resolves to the
 * wall time in milliseconds. Jobs are numbered 0…total-1 in start order.
 */
export async function runPool (total: number, inFlight: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0
  const started = performance.now()
  const lane = async (): Promise<void> => {
    while (next < total) await job(next++)
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane))
  return performance.now() - started
}

/** Times `total` calls of `call`, `inFlight` at a time: throughput and per-call latency. */
export async function measureCalls (total: number, inFlight: number, call: () => Promise<void>): Promise<{ perSec: number, latency: LatencySummary, wallMs: number, samples: number[] }> {
  const samples = new Array<number>(total)
  const wallMs = await runPool(total, inFlight, async i => {
    const t0 = performance.now()
    await call()
    samples[i] = performance.now() - t0
  })
  return { perSec: total / (wallMs / 1000), latency: summarize(samples), wallMs, samples }
}
