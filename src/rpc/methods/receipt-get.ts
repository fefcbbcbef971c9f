import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { cidParam, receiptJson, type CidParam } from './workflow-json.js'

/** `receipt_get {cid}`: a stored receipt by receipt CID or instruction CID, as DAG-JSON. */
export function receiptGetMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<{ cid: CidParam }, Record<string, unknown>> {
  return {
    name: 'receipt_get',
    handler: async params => receiptJson(await services.workflows.receipt(cidParam(params.cid)))
  }
}
