import type { Router } from './router.js'
import type { GetRoute, UploadRoute } from './options.js'
import type { RpcServices } from './services.js'

/**
 * Plain HTTP GETs answered by a method, as Homestar serves them: `/health` (503 when
 * unhealthy), `/node`, `/rpc_discover` (and `/rpc.discover`), `/metrics` (JSON).
 */
export function methodRoutes (router: Router): Record<string, GetRoute> {
  const viaMethod = (method: string, failureStatus = 500): GetRoute => async () => {
    const response = await router.handle({ jsonrpc: '2.0', id: 0, method }, { transport: 'http' })
    const r = response as { result?: unknown, error?: unknown }
    if (r.error !== undefined) return { status: failureStatus, contentType: 'application/json', body: JSON.stringify(method === 'health' ? { healthy: false, error: r.error } : r.error) }
    return { status: 200, contentType: 'application/json', body: JSON.stringify(r.result) }
  }
  return {
    '/health': viaMethod('health', 503),
    '/node': viaMethod('node'),
    '/rpc_discover': viaMethod('rpc_discover'),
    '/rpc.discover': viaMethod('rpc.discover'),
    '/metrics': viaMethod('metrics')
  }
}

/** `POST /add`: the body is a file, imported as `ipfs add --cid-version 1` does; answers `{"cid": …}`. */
export function uploadRoutes (services: Pick<RpcServices, 'addFile'>): Record<string, UploadRoute> {
  return {
    '/add': async body => ({ cid: (await services.addFile(body)).toString() })
  }
}
