import type { CID } from 'multiformats/cid'
import { receiptNotificationJson } from '../ipld/index.js'
import type { RunEvent, StatusEvent } from '../workflow/index.js'
import type { Payload } from './connection.js'

/** What a run's notifications name: its workflow and the name it was submitted under. */
export interface RunIdentity {
  cid: CID
  name: string
}

/** Notifications already written, by event and run name: every subscriber of a run shares one. */
const written = new WeakMap<RunEvent, Map<string, Payload>>()

/**
 * The `subscribe_run_workflow` notification of a run event: a receipt notification as
 * Homestar sends it (DAG-JSON text, schemas/receipt_notification.json), or a
 * `workflow_status` notification (schemas/workflow_status_notification.json). Written once
 * per event, however many clients subscribe to the run (a receipt may be megabytes).
 */
export function runNotification (run: RunIdentity, event: RunEvent): Payload {
  let byName = written.get(event)
  if (byName === undefined) {
    byName = new Map()
    written.set(event, byName)
  }
  let payload = byName.get(run.name)
  if (payload === undefined) {
    payload = event.type === 'receipt'
      ? { dagJson: receiptNotificationJson({ name: run.name, replayed: event.replayed, workflowCid: run.cid, receipt: event.receipt, receiptCid: event.cid }) }
      : { json: statusNotification(run, event) }
    byName.set(run.name, payload)
  }
  return payload
}

/** The `workflow_status` notification of a status event. */
export function statusNotification (run: RunIdentity, event: StatusEvent): { workflow_status: Record<string, unknown> } {
  return {
    workflow_status: {
      workflow: { '/': run.cid.toString() },
      name: run.name,
      status: event.status,
      final: event.final,
      tasks: { ...event.tasks },
      retries: event.retries,
      ...(event.error !== undefined ? { error: { code: event.error.code, message: event.error.message } } : {}),
      timestamp: event.at
    }
  }
}
