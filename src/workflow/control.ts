import type { Logger } from '../util/logger.js'
import { errorMessage, isIpvmError } from '../util/errors.js'
import type { WorkflowMetrics } from '../metrics/index.js'
import type { WorkflowStoreView } from './contracts.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import type { RunState } from './run-state.js'

/** The abort reason of runs stopped because the node stops: they are interrupted, not cancelled. */
export const NODE_STOPPING = new WorkflowError(WorkflowErrorCode.CANCELLED, 'node stopping')

export interface StatusSyncComponents {
  store: Pick<WorkflowStoreView, 'workflows'>
  logger: Logger
  metrics?: { workflow: WorkflowMetrics }
}

/**
 * Brings the stored status of a run in line with its state after a change (a task started
 * or ended, a pause or a resume): when its live status or its sleeps changed, the change is
 * written to the store and then, for a status change, announced with final: false. Writes
 * land and are announced in order. Nothing is written once the run is cancelled (a write
 * queued before is dropped): its `cancelled` status is stored first, by `cancelRun`; a run
 * stopped by the node keeps the status it had. A failed write is logged, and, with
 * `strict` (a control change, which is answered only once it is stored), rejects.
 */
export async function syncStatus (run: RunState, c: StatusSyncComponents, strict = false): Promise<void> {
  const change = run.applyLiveStatus()
  if (change === undefined) return await run.settled()
  // a run that only sleeps, or is paused, lets another run execute meanwhile
  if (change.status === 'sleeping' || change.status === 'paused') run.slot?.yield()
  const { status, wakeAt, sleeps, retries } = change
  try {
    await run.queueWrite(async () => {
      if (run.signal.aborted && !run.stoppedByNode) return
      // a control change is answered once it is on disk
      await c.store.workflows.update(run.cid, { status, wakeAt: wakeAt ?? null, sleeps: Object.keys(sleeps).length > 0 ? sleeps : null, retries }, { sync: strict })
    }, change.event)
  } catch (err) {
    c.logger.warn({ err, workflow: run.cidString, status }, 'storing a run status failed')
    if (strict) throw err
  }
}

/**
 * Pauses a run: tasks running go on to their end, no task attempt starts until it is
 * resumed. Resolves once `paused` is stored; when it cannot be, the run goes on unpaused
 * and the store's error is thrown.
 */
export async function pauseRun (run: RunState, c: StatusSyncComponents): Promise<void> {
  assertGoing(run, 'pause')
  if (run.paused) throw new WorkflowError(WorkflowErrorCode.STATE, `workflow run ${run.cidString} is already paused`, { cid: run.cidString, status: run.status })
  run.pause()
  try {
    await syncStatus(run, c, true)
  } catch (err) {
    run.unpause()
    void syncStatus(run, c)
    throw err
  }
}

/** Resumes a paused run, once that is stored; when it cannot be, the run stays paused and the store's error is thrown. */
export async function resumeRun (run: RunState, c: StatusSyncComponents): Promise<void> {
  assertGoing(run, 'resume')
  if (!run.paused) throw new WorkflowError(WorkflowErrorCode.STATE, `workflow run ${run.cidString} is ${run.status}, not paused`, { cid: run.cidString, status: run.status })
  run.unpause()
  try {
    await syncStatus(run, c, true)
  } catch (err) {
    run.pause()
    void syncStatus(run, c)
    throw err
  }
}

/**
 * Cancels a run: stores its `cancelled` status first (when that fails, the store's error is
 * thrown and the run goes on, not cancelled), then aborts its signal, which terminates the
 * Wasm calls in flight and wakes its sleeps, and waits until its subscribers have the final
 * `cancelled` status.
 */
export async function cancelRun (run: RunState, c: StatusSyncComponents): Promise<void> {
  assertGoing(run, 'cancel')
  await run.queueWrite(async () => {
    await c.store.workflows.update(run.cid, { status: 'cancelled', error: { code: WorkflowErrorCode.CANCELLED, message: CANCELLED_MESSAGE }, wakeAt: null, sleeps: null, stoppedCleanly: false }, { sync: true })
  })
  // a cancel that came in while this one was being stored
  if (run.signal.aborted) {
    await run.done()
    return
  }
  run.cancel(new WorkflowError(WorkflowErrorCode.CANCELLED, CANCELLED_MESSAGE))
  await run.done()
}

const CANCELLED_MESSAGE = 'workflow run cancelled'

function assertGoing (run: RunState, action: string): void {
  if (run.isFinal || run.signal.aborted) {
    throw new WorkflowError(WorkflowErrorCode.STATE, `cannot ${action} workflow run ${run.cidString}: it is ${run.isFinal ? run.status : 'ending'}`, { cid: run.cidString, status: run.status })
  }
}

/**
 * Ends a run once no task is left: stores its final status, then announces it. When the
 * final status cannot be stored (a full disk), the run is announced `failed` with the
 * store's error code all the same, so subscribers are not left waiting; the engine stores
 * that status once the store takes writes again (`RunState.finalUnstored`). A run
 * stopped because the node stops just ends, without a final status: its stored status
 * stays running, sleeping or paused, so it resumes on the next start, and is marked
 * `stoppedCleanly` so that resuming it does not count as a crash.
 */
export async function finishRun (run: RunState, c: StatusSyncComponents, crash?: unknown): Promise<void> {
  const { store, metrics, logger } = c
  await run.settled()
  if (run.stoppedByNode) {
    // its status stays as stored; the mark tells the next start that no crash interrupted it
    try {
      await store.workflows.update(run.cid, { stoppedCleanly: true })
    } catch (err) {
      logger.warn({ err, workflow: run.cidString }, 'marking a run as stopped cleanly failed: the next start counts it as a crash')
    }
    run.interrupt()
    return
  }
  const status = run.conclude(crash === undefined ? undefined : { code: isIpvmError(crash) ? crash.code : 'WORKFLOW_FAILED', message: errorMessage(crash) })
  try {
    await store.workflows.update(run.cid, { status, retries: run.retries, wakeAt: null, sleeps: null, ...(run.error !== undefined ? { error: run.error } : {}) })
  } catch (err) {
    logger.error({ err, workflow: run.cidString, status }, 'storing the final status of a run failed')
    // a cancelled run's status was stored before the cancel was acknowledged
    if (status !== 'cancelled') {
      const concluded = run.error !== undefined ? `${status} (${run.error.code})` : status
      run.failUnstored({ code: isIpvmError(err) ? err.code : 'STORE_IO', message: `the run ended ${concluded}, but its final status could not be stored: ${errorMessage(err)}` })
      metrics?.workflow.failed.inc()
      return
    }
  }
  if (status === 'cancelled') metrics?.workflow.cancelled.inc()
  else if (status === 'failed') metrics?.workflow.failed.inc()
  else metrics?.workflow.completed.inc()
  run.announceFinal()
}
