import type { Registry } from 'prom-client'

/**
 * The value of one series as the registry reports it (collectors run), or undefined when
 * the series does not exist. `labels` must match the series' labels exactly.
 */
export async function seriesValue (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) throw new Error(`no metric ${name}`)
  const family = await metric.get()
  const want = JSON.stringify(Object.entries(labels).sort())
  const found = family.values.find((v) => {
    const got = Object.entries(v.labels).map(([k, x]) => [k, String(x)]).sort()
    return JSON.stringify(got) === want
  })
  return found?.value
}
