import { join } from 'node:path'
import { packageRoot } from '../util/package.js'

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
}

export const defaultDashboardOptions: Required<DashboardOptions> = {
  assetsDir: join(packageRoot, 'ui'),
  maxPlanBytes: 8 * 1024 * 1024
}
