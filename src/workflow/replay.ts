import type { CID } from 'multiformats/cid'
import { receiptNotificationJson, type Receipt } from '../ipld/index.js'
import type { WorkflowEngineComponents } from './engine.js'
import type { Run } from './run.js'
import { lookupReceipts, previousErrorReceipt, type FoundReceipt } from './receipts.js'
import type { Outcome, PreparedTask } from './task.js'

/**
 * Replays every task of a run that already has a receipt, in dependency order: a
 * successful receipt of its instruction (stored here, or from a peer), or, for a run
 * resumed after a restart (`resumed`), the error receipt it already got in this run. The
 * receipts are filed under the run in one write, then announced as replayed; their outputs
 * go into `outputs`.
 */
export async function replayReceipts (c: WorkflowEngineComponents, run: Run, tasks: PreparedTask[], outputs: Map<string, Outcome>, resumed: boolean): Promise<void> {
  const { store, metrics } = c
  const signal = run.abort.signal
  const filed = resumed ? new Set((await store.receipts.listForWorkflow(run.cid)).map(x => x.toString())) : undefined
  // one batched read of the store for every task; then, at once, peers for the ones it lacks
  // (a lookup that goes to the network waits on peers, not on the others)
  const ok = await lookupReceipts(c, run.dag.order.map(i => tasks[i]!.instruction), signal)
  const lookups = await Promise.all(run.dag.order.map(async (i, k) => ok[k] ??
    (filed === undefined ? undefined : await previousErrorReceipt(store, tasks[i]!.instruction, filed))))
  const found: Array<[number, FoundReceipt]> = []
  run.dag.order.forEach((i, k) => {
    const f = lookups[k]
    if (f !== undefined) found.push([i, f])
  })
  if (found.length === 0) return
  // every receipt found is in the store by now (a peer's is stored when it is found)
  await store.receipts.fileUnder(run.cid, found.map(([, f]) => f.cid))
  for (const [i, f] of found) {
    const p = tasks[i]!
    outputs.set(p.instructionString, f.outcome)
    if (f.outcome.ok) {
      run.states[i] = 'replayed'
      run.counts.replayed++
    } else {
      run.states[i] = 'failed'
      run.counts.failed++
      run.error ??= errorOf(f.receipt, p)
    }
    metrics?.tasks.replayed.inc({ op: p.func })
    announceReceipt(run, p, f.receipt, f.cid, true)
  }
}

/** Sends a receipt notification to the run's subscribers (and its history). */
export function announceReceipt (run: Run, p: PreparedTask, receipt: Receipt, cid: CID, replayed: boolean): void {
  const dagJson = receiptNotificationJson({ name: run.name, replayed, workflowCid: run.cid, receipt, receiptCid: cid })
  run.emit({ kind: 'receipt', dagJson, index: p.index, receiptCid: cid.toString(), replayed })
}

function errorOf (receipt: Receipt, p: PreparedTask): { code: string, message: string } {
  const e = receipt.out[1] as { code?: unknown, message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : 'TASK_FAILED'
  const message = typeof e?.message === 'string' ? e.message : 'failed'
  return { code, message: `task ${p.index} (${p.func}) failed: ${message}` }
}
