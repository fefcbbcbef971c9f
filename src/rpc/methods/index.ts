import type { AnyMethod } from '../router.js'
import type { RpcServices } from '../services.js'
import { healthMethod } from './health.js'
import { metricsMethod } from './metrics.js'
import { nodeMethod } from './node.js'
import { rpcDiscoverMethods } from './rpc-discover.js'
import { subscribeRunWorkflowMethod, unsubscribeRunWorkflowMethod } from './subscribe-run-workflow.js'
import { subscribeNetworkEventsMethod, unsubscribeNetworkEventsMethod } from './network-events.js'

/** Every method the node serves. */
export function createMethods (services: RpcServices): AnyMethod[] {
  return [
    ...rpcDiscoverMethods(services),
    healthMethod(services),
    nodeMethod(services),
    metricsMethod(services),
    subscribeRunWorkflowMethod(services),
    unsubscribeRunWorkflowMethod(),
    subscribeNetworkEventsMethod(services),
    unsubscribeNetworkEventsMethod()
  ]
}
