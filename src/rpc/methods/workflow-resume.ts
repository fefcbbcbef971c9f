import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { cidParam, runJson, type CidParam } from './workflow-json.js'

/** `workflow_resume {cid}`: a paused run goes on. */
export function workflowResumeMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<{ cid: CidParam }, Record<string, unknown>> {
  return {
    name: 'workflow_resume',
    handler: async params => runJson(await services.workflows.resume(cidParam(params.cid)))
  }
}
