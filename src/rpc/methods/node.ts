import type { MethodDefinition } from '../router.js'
import type { NodeInfo, RpcServices } from '../services.js'

/** The node's peer id, listen addresses and connected peers. */
export function nodeMethod (services: Pick<RpcServices, 'nodeInfo'>): MethodDefinition<Record<string, never>, NodeInfo> {
  return { name: 'node', handler: () => services.nodeInfo() }
}
