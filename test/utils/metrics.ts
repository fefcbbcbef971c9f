import type { IpvmClient } from '../../src/client/index.js'

/** The sum of a metric's series whose labels include `labels`, read through the `metrics` method. */
export async function metricValue (t: { client: IpvmClient }, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await t.client.request<{ metrics: Array<{ metric_name: string, data: Array<{ labels?: Record<string, string> | null, value: string | number }> }> }>('metrics', [{ prefix: name }])
  const family = r.metrics.find(m => m.metric_name === name)
  let sum = 0
  for (const d of family?.data ?? []) {
    if (Object.entries(labels).every(([k, v]) => d.labels?.[k] === v)) sum += Number(d.value)
  }
  return sum
}
