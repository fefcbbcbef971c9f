import type { TaskMetrics } from '../metrics/index.js'
import type { Receipt } from '../ipld/index.js'
import type { RunError } from './run-model.js'
import type { RunState } from './run-state.js'
import { lookupReceipts, previousErrorReceipt, type FoundReceipt, type ReceiptLookupComponents } from './receipts.js'
import type { Outcome, PreparedTask } from './task.js'

export interface ReplayComponents extends ReceiptLookupComponents {
  metrics?: ReceiptLookupComponents['metrics'] & { tasks: TaskMetrics }
}

/**
 * Replays every task of a run that already has a receipt, in dependency order: a
 * successful receipt of its instruction (stored here, or from a peer), or, for a run
 * resumed after a restart (`resumed`), the error receipt it already got in this run. The
 * receipts are filed under the run in one write, then announced as replayed; their outputs
 * go into `outputs`.
 */
export async function replayReceipts (c: ReplayComponents, run: RunState, tasks: PreparedTask[], outputs: Map<string, Outcome>, resumed: boolean): Promise<void> {
  const { store, metrics } = c
  const signal = run.signal
  const filed = resumed ? new Set((await store.receipts.listForWorkflow(run.cid)).map(x => x.toString())) : undefined
  // one batched read of the store for every task; then, at once, peers for the ones it lacks
  // (a lookup that goes to the network waits on peers, not on the others)
  const ok = await lookupReceipts(c, run.dag.order.map(i => tasks[i].instruction), signal,
    run.dag.order.map(i => ({ ran: tasks[i].ran, rsc: tasks[i].rsc, func: tasks[i].func })))
  const lookups = await Promise.all(run.dag.order.map(async (i, k) => ok[k] ??
    (filed === undefined ? undefined : await previousErrorReceipt(store, tasks[i].instruction, filed))))
  const found: Array<[number, FoundReceipt]> = []
  run.dag.order.forEach((i, k) => {
    const f = lookups[k]
    if (f !== undefined) found.push([i, f])
  })
  if (found.length === 0) return
  // every receipt found is in the store by now (a peer's is stored when it is found)
  await store.receipts.fileUnder(run.cid, found.map(([, f]) => f.cid))
  for (const [i, f] of found) {
    const p = tasks[i]
    outputs.set(p.instructionString, f.outcome)
    run.taskReplayed(i, f.cid, f.receipt, f.outcome.ok ? undefined : errorOf(f.receipt, p), f.executor)
    metrics?.tasks.replayed.inc({ op: p.func })
    if (f.outcome.ok) c.peers?.replayed({ cid: f.cid, instruction: p.instruction, receipt: f.receipt })
  }
}

function errorOf (receipt: Receipt, p: PreparedTask): RunError {
  const e = receipt.out[1] as { code?: unknown, message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : 'TASK_FAILED'
  const message = typeof e?.message === 'string' ? e.message : 'failed'
  return { code, message: `task ${p.index} (${p.func}) failed: ${message}` }
}
