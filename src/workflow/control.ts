import type { Logger } from '../util/logger.js'
import { errorMessage, IpvmError } from '../util/errors.js'
import type { Store } from '../store/index.js'
import type { Metrics } from '../metrics/index.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import type { Run, RunStatus } from './run.js'

/** The abort reason of runs stopped because the node stops: they are interrupted, not cancelled. */
export const NODE_STOPPING = new WorkflowError(WorkflowErrorCode.CANCELLED, 'node stopping')

export interface StatusSyncComponents {
  store: Store
  logger: Logger
  metrics?: Pick<Metrics, 'workflow'>
}

/**
 * Brings the stored status of a run in line with its state after a change (a task started
 * or ended, a pause or a resume): when its live status (running, sleeping, paused) or its
 * wake time changed, the change is written to the store and then, for a status change,
 * announced to subscribers as a `workflow_status` notification with final: false. Writes
 * are chained on `run.persisted`, so they land and are announced in order. Nothing is
 * written once the run is aborted: a cancelled run gets its final status from the
 * scheduler, and a run interrupted by the node stopping keeps the status it had.
 */
export function syncStatus (run: Run, c: StatusSyncComponents): void {
  if (run.isFinal || run.abort.signal.aborted) return
  const { status, wakeAt } = run.liveStatus()
  // a run that only sleeps, or is paused, lets another run execute meanwhile
  if (status === 'sleeping' || status === 'paused') run.slot?.yield()
  const sleeps = run.sleepTimes()
  const sleepsText = JSON.stringify(sleeps)
  if (status === run.status && wakeAt === run.wakeAt && sleepsText === run.storedSleeps) return
  const announce = status !== run.status
  run.status = status
  run.wakeAt = wakeAt
  run.storedSleeps = sleepsText
  const notification = announce ? run.statusNotification(false) : undefined
  run.persisted = run.persisted
    .then(async () => {
      await c.store.workflows.update(run.cid, { status, wakeAt: wakeAt ?? null, sleeps: Object.keys(sleeps).length > 0 ? sleeps : null, retries: run.retries })
      if (notification !== undefined) run.emit({ kind: 'status', status, final: false, json: notification })
    })
    .catch(err => c.logger.warn({ err, workflow: run.cidString, status }, 'storing a run status failed'))
}

/** Pauses a run: tasks running go on to their end, no task attempt starts until it is resumed. */
export async function pauseRun (run: Run, c: StatusSyncComponents): Promise<void> {
  assertGoing(run, 'pause')
  if (run.paused) throw new WorkflowError(WorkflowErrorCode.STATE, `workflow run ${run.cidString} is already paused`, { cid: run.cidString, status: run.status })
  run.pause()
  syncStatus(run, c)
  await run.persisted
}

/** Resumes a paused run. */
export async function resumeRun (run: Run, c: StatusSyncComponents): Promise<void> {
  assertGoing(run, 'resume')
  if (!run.paused) throw new WorkflowError(WorkflowErrorCode.STATE, `workflow run ${run.cidString} is ${run.status}, not paused`, { cid: run.cidString, status: run.status })
  run.unpause()
  syncStatus(run, c)
  await run.persisted
}

/**
 * Cancels a run: aborts its signal, which terminates the Wasm calls in flight and wakes its
 * sleeps, and waits for the final `cancelled` status to be stored and announced.
 */
export async function cancelRun (run: Run): Promise<void> {
  assertGoing(run, 'cancel')
  run.abort.abort(new WorkflowError(WorkflowErrorCode.CANCELLED, 'workflow run cancelled'))
  await run.done()
}

function assertGoing (run: Run, action: string): void {
  if (run.isFinal || run.abort.signal.aborted) {
    throw new WorkflowError(WorkflowErrorCode.STATE, `cannot ${action} workflow run ${run.cidString}: it is ${run.isFinal ? run.status : 'ending'}`, { cid: run.cidString, status: run.status })
  }
}

/**
 * Ends a run once no task is left: stores its final status (cancelled when it was
 * cancelled, failed when a task failed or was skipped or the run itself broke down
 * (`crash`), completed otherwise), then announces it with final: true. A run stopped
 * because the node stops just ends, without a final status or notification: its stored
 * status stays running, sleeping or paused, so it resumes on the next start.
 */
export async function finishRun (run: Run, c: StatusSyncComponents, crash?: unknown): Promise<void> {
  const { store, metrics, logger } = c
  await run.persisted
  const aborted = run.abort.signal.aborted
  if (aborted && run.abort.signal.reason === NODE_STOPPING) {
    run.interrupt()
    return
  }
  let status: RunStatus
  if (aborted) {
    status = 'cancelled'
    run.error ??= { code: WorkflowErrorCode.CANCELLED, message: 'workflow run cancelled' }
    metrics?.workflow.cancelled.inc()
  } else if (crash !== undefined || run.counts.failed > 0 || run.counts.skipped > 0) {
    status = 'failed'
    if (crash !== undefined) run.error ??= { code: crash instanceof IpvmError ? crash.code : 'WORKFLOW_FAILED', message: errorMessage(crash) }
    metrics?.workflow.failed.inc()
  } else {
    status = 'completed'
    metrics?.workflow.completed.inc()
  }
  run.status = status
  run.wakeAt = undefined
  try {
    await store.workflows.update(run.cid, { status, retries: run.retries, wakeAt: null, sleeps: null, ...(run.error !== undefined ? { error: run.error } : {}) })
  } catch (err) {
    logger.error({ err, workflow: run.cidString, status }, 'storing the final status of a run failed')
    run.interrupt()
    return
  }
  run.emit({ kind: 'status', status, final: true, json: run.statusNotification(true) })
}
