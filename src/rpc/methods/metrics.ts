import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'

interface MetricsParams { filter?: { prefix?: string } }

/**
 * The node's metrics as JSON (`schemas/metrics.json`). Takes Homestar's `[{"prefix": "…"}]`
 * and also `{"prefix": "…"}`; unlike Homestar the prefix really filters.
 */
export function metricsMethod (services: Pick<RpcServices, 'metricsJson'>): MethodDefinition<MetricsParams, unknown> {
  return {
    name: 'metrics',
    normalizeParams: params => {
      if (params !== null && typeof params === 'object' && !Array.isArray(params) && 'prefix' in params && !('filter' in params)) return [params]
      return params
    },
    handler: async params => await services.metricsJson(params.filter?.prefix)
  }
}
