import { collectRun, isStatusNotification, type IpvmClient, type RunResult } from '../src/client/index.js'
import { parseJson, parseWorkflow } from '../src/ipld/index.js'
import { chain } from '../test/utils/workflows.js'

/** One add_one chain ready to submit, with what its last receipt must say. */
export interface BenchWorkflow {
  text: string
  start: number
  length: number
  /** `ran` (task CID) of the last task: its receipt carries the chain's result. */
  lastRan: string
}

/** Start values handed out once each, so every workflow of a run is new to the node. */
export class StartValues {
  private next: number
  constructor (first = 1000) { this.next = first }
  take (): number {
    const v = this.next
    this.next += 1
    return v
  }
}

/** `length` add_one tasks on `start`, each awaiting the previous one (length 1: one task). */
export function addOneChain (rsc: string, length: number, start: number): BenchWorkflow {
  const text = JSON.stringify(chain(rsc, length, start))
  const parsed = parseWorkflow(parseJson(text))
  return { text, start, length, lastRan: parsed.tasks[length - 1].ran.toString() }
}

export interface RunCheck {
  /** Submit → final status notification, in ms. */
  e2eMs: number
  ok: boolean
  /** Receipts expected but not delivered to this subscriber. */
  lostReceipts: number
  /** Why the run does not count as ok. */
  problem?: string
}

/**
 * Submits a workflow and reads its notifications until the final status. `replay` says
 * whether every task must come from a stored receipt (a re-submission) or be executed
 * (a new workflow). Checks the status counts, the receipts and the chain's result.
 */
export async function runChecked (client: IpvmClient, wf: BenchWorkflow, replay: boolean, timeoutMs = 60_000): Promise<RunCheck> {
  const t0 = performance.now()
  let finalAt = Number.NaN
  let result: RunResult
  try {
    result = await collectRun(await client.runWorkflow(wf.text), timeoutMs, n => {
      if (isStatusNotification(n) && n.workflow_status.final) finalAt = performance.now()
    })
  } catch (err) {
    return { e2eMs: performance.now() - t0, ok: false, lostReceipts: wf.length, problem: err instanceof Error ? err.message : String(err) }
  }
  const e2eMs = finalAt - t0
  const { receipts, status } = result
  const distinct = new Set(receipts.map(r => r.receipt.ran['/']))
  const lostReceipts = Math.max(0, wf.length - distinct.size)
  const problem = checkRun(wf, result, replay)
  return { e2eMs, ok: problem === undefined, lostReceipts, ...(problem !== undefined ? { problem } : {}) }

  function checkRun (w: BenchWorkflow, r: RunResult, replayed: boolean): string | undefined {
    if (status.status !== 'completed') return `status ${status.status}${status.error !== undefined ? `: ${status.error.code} ${status.error.message}` : ''}`
    const want = replayed ? { executed: 0, replayed: w.length } : { executed: w.length, replayed: 0 }
    if (status.tasks.executed !== want.executed || status.tasks.replayed !== want.replayed) {
      return `expected executed=${want.executed} replayed=${want.replayed}, got executed=${status.tasks.executed} replayed=${status.tasks.replayed}`
    }
    if (r.receipts.some(x => x.metadata.replayed !== replayed)) return `a receipt has replayed=${String(!replayed)}`
    if (lostReceipts > 0) return `${lostReceipts} of ${w.length} receipts not delivered`
    const last = r.receipts.find(x => x.receipt.ran['/'] === w.lastRan)
    if (last === undefined) return 'no receipt for the last task'
    const [tag, value] = last.receipt.out
    if (tag !== 'ok' || value !== w.start + w.length) return `last output ${JSON.stringify(last.receipt.out)}, expected ${w.start + w.length}`
    return undefined
  }
}
