import type { WorkflowStatus } from '../../store/index.js'
import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { runJson } from './workflow-json.js'

interface ListParams { status?: WorkflowStatus, limit?: number, cursor?: string }

/** `workflow_list {status?, limit?, cursor?}`: a page of runs, newest first, and the cursor of the next. */
export function workflowListMethod (services: Pick<RpcServices, 'workflows'>): MethodDefinition<ListParams, { runs: Array<Record<string, unknown>>, cursor?: string }> {
  return {
    name: 'workflow_list',
    handler: async params => {
      const page = await services.workflows.list({
        ...(params.status !== undefined ? { status: params.status } : {}),
        ...(params.limit !== undefined ? { limit: params.limit } : {}),
        ...(params.cursor !== undefined ? { cursor: params.cursor } : {})
      })
      const runs = page.runs.map(runJson)
      return page.cursor === undefined ? { runs } : { runs, cursor: page.cursor }
    }
  }
}
