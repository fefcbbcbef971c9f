import type { SubscriptionStream } from './subscription.js'

export interface Link { '/': string }

/** A receipt notification of `subscribe_run_workflow` (schemas/receipt_notification.json). */
export interface ReceiptNotification {
  /** `executor`: the peer id of the node that ran the task (not Homestar's). */
  metadata: { name: string, replayed: boolean, workflow: Link, executor?: string }
  receipt: { iss: string | null, meta: { op: string } & Record<string, unknown>, out: ['ok' | 'error', unknown], prf: Link[], ran: Link }
  receipt_cid: Link
}

/** The status notification of `subscribe_run_workflow` (schemas/workflow_status_notification.json). */
export interface WorkflowStatusNotification {
  workflow_status: {
    workflow: Link
    name: string
    status: 'pending' | 'running' | 'paused' | 'sleeping' | 'completed' | 'failed' | 'cancelled'
    final: boolean
    tasks: { total: number, executed: number, replayed: number, failed: number, skipped: number }
    retries: number
    error?: { code: string, message: string }
    timestamp: number
  }
}

export type RunNotification = ReceiptNotification | WorkflowStatusNotification

/** A `subscribe_network_events` notification: one key, the event type (schemas/network.json). */
export type NetworkEventNotification = Record<string, { timestamp: number } & Record<string, unknown>>

export function isReceiptNotification (n: unknown): n is ReceiptNotification {
  return typeof n === 'object' && n !== null && 'receipt' in n && 'receipt_cid' in n
}

export function isStatusNotification (n: unknown): n is WorkflowStatusNotification {
  return typeof n === 'object' && n !== null && 'workflow_status' in n
}

export interface RunResult {
  receipts: ReceiptNotification[]
  status: WorkflowStatusNotification['workflow_status']
}

/**
 * Reads a run's notifications until its final status (or `timeoutMs` between two
 * notifications), then closes the subscription.
 */
export async function collectRun (stream: SubscriptionStream<RunNotification>, timeoutMs = 60_000, onNotification?: (n: RunNotification) => void): Promise<RunResult> {
  const receipts: ReceiptNotification[] = []
  try {
    for (;;) {
      const n = await stream.nextWithin(timeoutMs)
      onNotification?.(n)
      if (isReceiptNotification(n)) receipts.push(n)
      else if (isStatusNotification(n) && n.workflow_status.final) return { receipts, status: n.workflow_status }
    }
  } finally {
    await stream.close()
  }
}
