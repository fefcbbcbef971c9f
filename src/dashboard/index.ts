/**
 * The dashboard: a page served on the RPC port (`GET /`, files under `/ui/`) that shows the
 * node at work through its own JSON-RPC API, and `POST /ui/plan`, which gives the page a
 * workflow's task graph and CIDs.
 */
import type { GetRoute, UploadRoute } from '../rpc/index.js'
import { DashboardAssets } from './assets.js'
import { concatBytes } from '../util/bytes.js'
import { withDefaults } from '../util/options.js'
import { defaultDashboardOptions, type DashboardOptions } from './options.js'
import { timeSlicer } from '../rpc/index.js'
import { planWorkflowSliced } from './plan.js'

export { DashboardAssets, DASHBOARD_ASSETS, DASHBOARD_PAGE_PATHS, DASHBOARD_PREFIX } from './assets.js'
export { planWorkflow, planWorkflowSliced, defaultPlanLimits, type PlanLimits, type WorkflowPlan, type PlannedTask, type PlannedAwait } from './plan.js'
export { DashboardError, DashboardErrorCode } from './errors.js'
export { defaultDashboardOptions, type DashboardOptions } from './options.js'

/** Path of the plan route. */
export const DASHBOARD_PLAN_PATH = '/ui/plan'

/** GET routes of the page and its files, to merge into the RPC server's routes. */
export function dashboardRoutes (options: DashboardOptions = {}): Record<string, GetRoute> {
  return new DashboardAssets(withDefaults(defaultDashboardOptions, options).assetsDir).routes()
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
