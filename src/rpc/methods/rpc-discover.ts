import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'

/** `rpc.discover` (OpenRPC's name) and `rpc_discover` (Homestar's): the API document as an object. */
export function rpcDiscoverMethods (services: Pick<RpcServices, 'openrpc'>): MethodDefinition[] {
  const handler = (): unknown => services.openrpc.document
  return [
    { name: 'rpc.discover', handler },
    { name: 'rpc_discover', handler }
  ]
}
