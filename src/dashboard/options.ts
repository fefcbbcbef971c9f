import { join } from 'node:path'
import { packageRoot } from '../util/package.js'
import { defaultConfig } from '../config/index.js'

/** Where the dashboard's files are and how much a plan request may send. */
export interface DashboardOptions {
  /**
   * Folder holding the page's files (`index.html`, the ES modules, the stylesheet).
   * @default "<package root>/ui"
   */
  assetsDir?: string
  /**
   * Largest workflow text `POST /ui/plan` accepts, in bytes.
   * @default 8388608
   */
  maxPlanBytes?: number
  /**
   * Most tasks in a workflow `POST /ui/plan` accepts.
   * @default 10000 (`workflow.max_tasks`)
   */
  maxPlanTasks?: number
  /**
   * Deepest nesting of arrays and objects in a plan request.
   * @default 64 (`rpc.max_json_depth`)
   */
  maxPlanDepth?: number
}

export const defaultDashboardOptions: Required<DashboardOptions> = {
  assetsDir: join(packageRoot, 'ui'),
  maxPlanBytes: 8 * 1024 * 1024,
  maxPlanTasks: defaultConfig.workflow.max_tasks,
  maxPlanDepth: defaultConfig.rpc.max_json_depth
}
