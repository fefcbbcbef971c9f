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
  const filed = resumed ? new Set((await store.receipts.listForWorkflow(run.cid)).map(x => x.toString())) : undefined
  const ok = await lookupInOrder(c, run, tasks)
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

/**
 * The receipt of every task (in `run.dag.order`) that has one: one batched read of the store
 * for all; then peers, at once, for the tasks still lacking one whose awaited tasks have
 * receipts (the roots of what is left), and for the others only when peers had one of those.
 * Whoever ran a task had the receipts of the tasks it awaits, so a task whose awaited task
 * nobody has a receipt for has none either: a new workflow asks its peers about its roots
 * alone, and a workflow peers ran is found in two rounds.
 */
async function lookupInOrder (c: ReplayComponents, run: RunState, tasks: PreparedTask[]): Promise<Array<FoundReceipt | undefined>> {
  const { order, nodes } = run.dag
  const instructions = order.map(i => tasks[i].instruction)
  const expected = order.map(i => ({ ran: tasks[i].ran, rsc: tasks[i].rsc, func: tasks[i].func }))
  const { peers, ...local } = c
  const found = await lookupReceipts(local, instructions, run.signal, expected)
  if (peers === undefined) return found
  const ask = async (ks: number[]): Promise<boolean> => {
    if (ks.length === 0) return false
    const got = await lookupReceipts(c, ks.map(k => instructions[k]), run.signal, ks.map(k => expected[k]))
    ks.forEach((k, j) => { found[k] = got[j] })
    return got.some(g => g !== undefined)
  }
  const held = new Set(order.filter((_, k) => found[k] !== undefined))
  const roots = order.flatMap((i, k) => found[k] === undefined && nodes[i].deps.every(d => held.has(d)) ? [k] : [])
  if (await ask(roots)) {
    const asked = new Set(roots)
    await ask(order.flatMap((_, k) => found[k] === undefined && !asked.has(k) ? [k] : []))
  }
  return found
}

function errorOf (receipt: Receipt, p: PreparedTask): RunError {
  const e = receipt.out[1] as { code?: unknown, message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : 'TASK_FAILED'
  const message = typeof e?.message === 'string' ? e.message : 'failed'
  return { code, message: `task ${p.index} (${p.func}) failed: ${message}` }
}
