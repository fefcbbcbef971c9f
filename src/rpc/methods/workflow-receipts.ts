import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { cidParam, receiptJson, type CidParam } from './workflow-json.js'

/** `workflow_receipts {cid}`: the receipts filed under a run, in the order they landed. */
export function workflowReceiptsMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<{ cid: CidParam }, Array<Record<string, unknown>>> {
  return {
    name: 'workflow_receipts',
    handler: async params => (await services.workflows.receipts(cidParam(params.cid))).map(receiptJson)
  }
}
