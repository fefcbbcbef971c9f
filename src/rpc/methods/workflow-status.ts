import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { cidParam, runJson, type CidParam } from './workflow-json.js'

/** `workflow_status {cid}`: a run's status, times, progress, retries, restarts and error. */
export function workflowStatusMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<{ cid: CidParam }, Record<string, unknown>> {
  return {
    name: 'workflow_status',
    handler: async params => runJson(await services.workflows.status(cidParam(params.cid)))
  }
}
