import type { CID } from 'multiformats/cid'
import { receiptNotificationJson } from '../ipld/index.js'
import type { Placement, RunEvent, RunExecution, StatusEvent } from '../workflow/index.js'
import type { NotificationFormat, Payload } from './connection.js'

/** What a run's notifications name: its workflow and the name it was submitted under. */
export interface RunIdentity {
  cid: CID
  name: string
}

/** Who executed a receipt's task: the peer the run says, else this node (`self`). */
export interface ExecutorNaming {
  self: string
}

/**
 * Large notifications already written, by event and run name: every subscriber of a run
 * shares one, also a subscriber that attaches later and is sent the run's events again. Kept
 * as long as the event (the run's history).
 */
const written = new WeakMap<RunEvent, Map<string, Payload>>()

/** A notification's DAG-JSON longer than this is kept with its event (see `written`). */
const KEEP_ABOVE_CHARS = 64 * 1024

/**
 * The small notifications of the last event: a run hands an event to all its subscribers one
 * after the other, so they share this one; a late subscriber has them written again, which
 * costs less than keeping every small notification of a long run for as long as the run.
 */
let last: { event: RunEvent, byName: Map<string, Payload> } | undefined

/**
 * What a subscriber asks of a subscription (schemas/subscription_options.json). A subscriber
 * that gives none, as Homestar's clients do, gets Homestar's behaviour.
 */
export interface SubscriptionOptions {
  /** How results are framed. @default the node's `rpc.notification_format` ("bytes") */
  format?: NotificationFormat
  /** `subscribe_run_workflow`: also send the run's `workflow_status` notifications. @default false */
  status?: boolean
  /** `subscribe_run_workflow`: where the run's tasks go. @default `workflow.placement` */
  placement?: Placement
  /** `subscribe_run_workflow`: how peers' results are checked. @default `compute.verify` */
  verify?: string
  /** `subscribe_run_workflow`: where single tasks go, by instruction CID. */
  task_placement?: Record<string, Placement>
}

/** How a new run is placed, from a subscriber's options. */
export function runExecution (options: SubscriptionOptions): RunExecution | undefined {
  const execution: RunExecution = {
    ...(options.placement !== undefined ? { placement: options.placement } : {}),
    ...(options.verify !== undefined ? { verify: options.verify } : {}),
    ...(options.task_placement !== undefined ? { tasks: options.task_placement } : {})
  }
  return Object.keys(execution).length > 0 ? execution : undefined
}

/**
 * The `subscribe_run_workflow` notification of a run event for a subscriber: a receipt
 * notification as Homestar sends it (DAG-JSON text, schemas/receipt_notification.json) with
 * `metadata.executor`, the peer that ran the task (`naming.self` when this node did), or a
 * `workflow_status` notification (schemas/workflow_status_notification.json) for a subscriber
 * that asked for them with `status: true`; undefined when the subscriber gets nothing.
 * Homestar has no status notification: its clients count receipts, and hand whatever arrives
 * on the subscription to their receipt callback. Written once per event, however many
 * clients subscribe to the run (a receipt may be megabytes).
 */
export function runNotification (run: RunIdentity, event: RunEvent, options: SubscriptionOptions = {}, naming?: ExecutorNaming): Payload | undefined {
  if (event.type !== 'receipt' && options.status !== true) return undefined
  const kept = written.get(event)?.get(run.name) ?? (last?.event === event ? last.byName.get(run.name) : undefined)
  if (kept !== undefined) return kept
  const payload: Payload = event.type === 'receipt'
    ? { dagJson: receiptNotificationJson({ name: run.name, replayed: event.replayed, workflowCid: run.cid, receipt: event.receipt, receiptCid: event.cid, ...executorOf(event, naming) }) }
    : { json: statusNotification(run, event) }
  if ('dagJson' in payload && payload.dagJson.length > KEEP_ABOVE_CHARS) {
    const byName = written.get(event) ?? new Map<string, Payload>()
    written.set(event, byName)
    byName.set(run.name, payload)
  } else {
    if (last?.event !== event) last = { event, byName: new Map() }
    last.byName.set(run.name, payload)
  }
  return payload
}

/** The peer that executed a receipt's task: the run's word, else this node (one node names itself the same in every notification). */
function executorOf (event: RunEvent & { type: 'receipt' }, naming: ExecutorNaming | undefined): { executor?: string } {
  const executor = event.executor ?? naming?.self
  return executor !== undefined ? { executor } : {}
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
