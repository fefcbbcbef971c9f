import { IpvmError } from '../util/errors.js'

/** Stable codes of the errors the dashboard's HTTP routes raise. */
export const DashboardErrorCode = {
  /** A file of the manifest is missing from the assets folder (a broken install). */
  ASSET_MISSING: 'DASHBOARD_ASSET_MISSING'
} as const

export type DashboardErrorCode = typeof DashboardErrorCode[keyof typeof DashboardErrorCode]

export class DashboardError extends IpvmError<DashboardErrorCode> {}
