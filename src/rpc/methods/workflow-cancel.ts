import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { cidParam, runJson, type CidParam } from './workflow-json.js'

/** `workflow_cancel {cid}`: stops a run (Wasm calls terminated, sleeps ended) and answers once it is cancelled. */
export function workflowCancelMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<{ cid: CidParam }, Record<string, unknown>> {
  return {
    name: 'workflow_cancel',
    handler: async params => runJson(await services.workflows.cancel(cidParam(params.cid)))
  }
}
