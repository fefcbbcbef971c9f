import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { cidParam, runJson, type CidParam } from './workflow-json.js'

/** `workflow_pause {cid}`: tasks in progress finish, no task starts until `workflow_resume`. */
export function workflowPauseMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<{ cid: CidParam }, Record<string, unknown>> {
  return {
    name: 'workflow_pause',
    handler: async params => runJson(await services.workflows.pause(cidParam(params.cid)))
  }
}
