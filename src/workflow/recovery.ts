import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import { errorMessage } from '../util/errors.js'
import { decode, parseWorkflow, type Workflow } from '../ipld/index.js'
import type { WorkflowRun, WorkflowStatus } from '../store/index.js'
import type { WorkflowMetrics } from '../metrics/index.js'
import type { WorkflowStoreView } from './contracts.js'
import { WorkflowErrorCode } from './errors.js'
import type { PlannedRun } from './planner.js'
import type { RunInit } from './run-model.js'
import { cutRunName } from './run-name.js'

export interface RecoveredRun extends PlannedRun {
  resume: NonNullable<PlannedRun['resume']>
}

export interface RecoveryComponents {
  store: Pick<WorkflowStoreView, 'workflows'>
  logger: Logger
  metrics?: { workflow: WorkflowMetrics }
  /** Builds a run of a workflow (tasks, graph, awaited receipts from outside), as `submit` does. */
  plan: (workflow: Workflow, name: string, init: RunInit) => Promise<PlannedRun>
  /** Whether a run of the workflow is already going here (submitted again before it was reloaded). */
  isActive: (cid: CID) => boolean
}

/** Statuses of runs a stopped or killed process leaves behind. */
const UNFINISHED: readonly WorkflowStatus[] = ['pending', 'running', 'sleeping', 'paused']
const PAGE = 500

/**
 * Reloads the runs a previous process left unfinished (pending, running, sleeping or
 * paused) from their stored bodies. A running, sleeping or pending run that a crash
 * interrupted (its record lacks the mark a graceful stop writes, `stoppedCleanly`) counts a
 * restart (`restarts`); one that already had `maxRestarts` is marked failed with
 * `WORKFLOW_RESTARTS_EXCEEDED` instead, since it may be what brings the node down. A run
 * the node stopped cleanly, and a paused run, count none. A run that cannot be reloaded is
 * marked failed with `WORKFLOW_RELOAD_FAILED`.
 */
export async function recoverRuns (c: RecoveryComponents, maxRestarts: number): Promise<RecoveredRun[]> {
  const records: WorkflowRun[] = []
  for (const status of UNFINISHED) {
    let cursor: string | undefined
    do {
      const page = await c.store.workflows.list({ status, limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) })
      records.push(...page.runs)
      cursor = page.cursor
    } while (cursor !== undefined)
  }
  const recovered: RecoveredRun[] = []
  for (const record of records) {
    if (c.isActive(record.cid)) continue
    try {
      const r = await recoverOne(c, record, maxRestarts)
      if (r !== undefined) recovered.push(r)
    } catch (err) {
      await fail(c, record, WorkflowErrorCode.RELOAD_FAILED, `the run could not be resumed after a restart: ${errorMessage(err)}`)
    }
  }
  if (records.length > 0) c.logger.info({ found: records.length, resumed: recovered.length }, 'unfinished workflow runs reloaded')
  return recovered
}

async function recoverOne (c: RecoveryComponents, record: WorkflowRun, maxRestarts: number): Promise<RecoveredRun | undefined> {
  const paused = record.status === 'paused'
  const crashed = !paused && record.stoppedCleanly !== true
  if (crashed && record.restarts >= maxRestarts) {
    await fail(c, record, WorkflowErrorCode.RESTARTS_EXCEEDED,
      `the run was interrupted by a node crash ${record.restarts + 1} times, more than workflow.max_restarts (${maxRestarts}) allows`)
    return undefined
  }
  const body = await c.store.workflows.getBody(record.cid)
  if (body === undefined) {
    await fail(c, record, WorkflowErrorCode.RELOAD_FAILED, 'the run could not be resumed after a restart: its workflow is not stored')
    return undefined
  }
  const workflow = parseWorkflow(decode(body))
  const restarts = record.restarts + (crashed ? 1 : 0)
  // a paused run keeps its stored wake time until it is resumed and its sleep starts again
  const wakeAt = !paused && record.wakeAt !== undefined ? { wakeAt: record.wakeAt } : {}
  // a name stored before names were bounded is cut, for good
  const name = cutRunName(record.name)
  if (name !== record.name) c.logger.warn({ workflow: record.cid.toString(), bytes: Buffer.byteLength(record.name) }, 'the run\'s stored name is too long: it is cut')
  const planned = await c.plan(workflow, name, { status: record.status, createdAt: record.createdAt, restarts, paused, retries: record.retries, ...wakeAt })
  // the mark is used up: if this process crashes, the next start counts it
  await c.store.workflows.update(record.cid, { restarts, stoppedCleanly: false, ...(name !== record.name ? { name } : {}) })
  c.logger.info({ workflow: record.cid.toString(), status: record.status, restarts, after: crashed ? 'crash' : paused ? 'pause' : 'clean stop' }, 'resuming workflow run')
  return { ...planned, resume: record.sleeps !== undefined ? { sleeps: record.sleeps } : {} }
}

async function fail (c: RecoveryComponents, record: WorkflowRun, code: string, message: string): Promise<void> {
  c.logger.warn({ workflow: record.cid.toString(), code, restarts: record.restarts }, message)
  await c.store.workflows.update(record.cid, { status: 'failed', error: { code, message }, wakeAt: null, sleeps: null })
  c.metrics?.workflow.failed.inc()
}
