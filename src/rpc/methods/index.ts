import type { AnyMethod } from '../router.js'
import type { RpcServices } from '../services.js'
import { healthMethod } from './health.js'
import { metricsMethod } from './metrics.js'
import { nodeMethod } from './node.js'
import { rpcDiscoverMethods } from './rpc-discover.js'
import { defaultRunWorkflowLimits, subscribeRunWorkflowMethod, unsubscribeRunWorkflowMethod, type RunWorkflowLimits } from './subscribe-run-workflow.js'
import { subscribeNetworkEventsMethod, unsubscribeNetworkEventsMethod } from './network-events.js'
import { workflowStatusMethod } from './workflow-status.js'
import { workflowListMethod } from './workflow-list.js'
import { workflowCancelMethod } from './workflow-cancel.js'
import { workflowPauseMethod } from './workflow-pause.js'
import { workflowResumeMethod } from './workflow-resume.js'
import { receiptGetMethod } from './receipt-get.js'
import { workflowReceiptsMethod } from './workflow-receipts.js'

export { MAX_RUN_NAME_LENGTH, defaultRunWorkflowLimits, type RunWorkflowLimits } from './subscribe-run-workflow.js'

/** Every method the node serves; `limits` are the settings methods apply themselves. */
export function createMethods (services: RpcServices, limits: RunWorkflowLimits = defaultRunWorkflowLimits): AnyMethod[] {
  return [
    ...rpcDiscoverMethods(services),
    healthMethod(services),
    nodeMethod(services),
    metricsMethod(services),
    subscribeRunWorkflowMethod(services, limits),
    unsubscribeRunWorkflowMethod(),
    subscribeNetworkEventsMethod(services),
    unsubscribeNetworkEventsMethod(),
    workflowStatusMethod(services),
    workflowListMethod(services),
    workflowCancelMethod(services),
    workflowPauseMethod(services),
    workflowResumeMethod(services),
    receiptGetMethod(services),
    workflowReceiptsMethod(services)
  ]
}
