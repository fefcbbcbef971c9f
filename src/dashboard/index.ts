/**
 * The dashboard: a page served on the RPC port (`GET /`, files under `/ui/`) that shows the
 * node at work through its own JSON-RPC API, and `/ui/plan`, which gives the page a workflow's
 * task graph and CIDs: `POST` a workflow's text, or `GET ?workflow=<cid>` for a run the node stored.
 */
import { tryParseCid, type CID } from '../ipld/index.js'
import type { GetRoute, UploadRoute } from '../rpc/index.js'
import { DashboardAssets } from './assets.js'
import { concatBytes } from '../util/bytes.js'
import { withDefaults } from '../util/options.js'
import { defaultDashboardOptions, type DashboardOptions } from './options.js'
import { timeSlicer } from '../rpc/index.js'
import { planStoredWorkflow, planWorkflowSliced } from './plan.js'

export { DashboardAssets, DASHBOARD_ASSETS, DASHBOARD_PAGE_PATHS, DASHBOARD_PREFIX } from './assets.js'
export { planWorkflow, planWorkflowSliced, planStoredWorkflow, defaultPlanLimits, type PlanLimits, type WorkflowPlan, type PlannedTask, type PlannedAwait } from './plan.js'
export { DashboardError, DashboardErrorCode } from './errors.js'
export { defaultDashboardOptions, type DashboardOptions } from './options.js'

/** Path of the plan route. */
export const DASHBOARD_PLAN_PATH = '/ui/plan'

/** What the dashboard reads from the node: a stored workflow's DAG-CBOR body (undefined when unknown). */
export interface DashboardComponents {
  workflowBody?: (cid: CID) => Promise<Uint8Array | undefined>
}

/**
 * GET routes of the page and its files, to merge into the RPC server's routes; with
 * `workflowBody`, `GET /ui/plan?workflow=<cid>` answers the plan of a workflow the node has run
 * (404 when it has not), so runs submitted elsewhere (the CLI) get their task graph too.
 */
export function dashboardRoutes (options: DashboardOptions = {}, components: DashboardComponents = {}): Record<string, GetRoute> {
  const routes = new DashboardAssets(withDefaults(defaultDashboardOptions, options).assetsDir).routes()
  const { workflowBody } = components
  if (workflowBody !== undefined) {
    routes[DASHBOARD_PLAN_PATH] = async req => {
      const json = (status: number, body: unknown): Awaited<ReturnType<GetRoute>> => ({ status, contentType: 'application/json', body: JSON.stringify(body), headers: { 'Cache-Control': 'no-store' } })
      const cid = tryParseCid(new URL(req.url ?? '/', 'http://localhost').searchParams.get('workflow') ?? '')
      if (cid === undefined) return json(400, { error: { code: 'DASHBOARD_BAD_CID', message: 'give ?workflow=<workflow CID>' } })
      const body = await workflowBody(cid)
      if (body === undefined) return json(404, { error: { code: 'WORKFLOW_NOT_FOUND', message: `no stored workflow ${cid.toString()}` } })
      return json(200, planStoredWorkflow(body))
    }
  }
  return routes
}

/**
 * POST routes: `/ui/plan` takes a workflow's JSON text and answers its `WorkflowPlan`; a
 * workflow over `workflow.max_tasks` or nested deeper than `rpc.max_json_depth` is refused
 * before it is parsed.
 */
export function dashboardUploads (options: DashboardOptions = {}): Record<string, UploadRoute> {
  const opts = withDefaults(defaultDashboardOptions, options)
  const limits = { maxTasks: opts.maxPlanTasks, maxJsonDepth: opts.maxPlanDepth }
  const plan: UploadRoute = async body => {
    const chunks: Uint8Array[] = []
    for await (const chunk of body) chunks.push(chunk)
    return await planWorkflowSliced(concatBytes(chunks), limits, timeSlicer())
  }
  plan.maxBytes = opts.maxPlanBytes
  return { [DASHBOARD_PLAN_PATH]: plan }
}
