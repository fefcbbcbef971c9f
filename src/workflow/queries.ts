import type { CID } from 'multiformats/cid'
import { decode, parseWorkflow } from '../ipld/index.js'
import type { ListWorkflowsOptions, WorkflowRun } from '../store/index.js'
import type { WorkflowStoreView } from './contracts.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { findReceipt, readReceipt, type ReceiptInfo } from './receipts.js'
import type { TaskCounts } from './run-model.js'
import type { RunState } from './run-state.js'
import { cutRunName } from './run-name.js'

/** A run as the API reports it: the stored record, with live task counts while it is loaded. */
export interface RunInfo extends WorkflowRun {
  /** Task counts of the run loaded on this node; absent once it has ended. */
  tasks?: TaskCounts
}

/** The stored run, brought up to date with the run in memory (its pending status writes landed first). */
export async function runInfo (store: WorkflowStoreView, cid: CID, run?: RunState): Promise<RunInfo> {
  if (run !== undefined) await run.settled()
  const stored = await store.workflows.get(cid)
  if (stored === undefined) throw notFound(cid)
  return withLive(stored, run)
}

export async function listRuns (store: WorkflowStoreView, opts: ListWorkflowsOptions, active: (cid: CID) => RunState | undefined): Promise<{ runs: RunInfo[], cursor?: string }> {
  const page = await store.workflows.list(opts)
  const runs = page.runs.map(r => withLive(r, active(r.cid)))
  return page.cursor === undefined ? { runs } : { runs, cursor: page.cursor }
}

/** A receipt by receipt CID or instruction CID; `WORKFLOW_RECEIPT_NOT_FOUND` when there is none. */
export async function getReceipt (store: WorkflowStoreView, cid: CID): Promise<ReceiptInfo> {
  let found: ReceiptInfo | undefined
  try {
    found = await findReceipt(store, cid)
  } catch (err) {
    // a CID this store cannot hold (another codec or hash) has no receipt here
    if ((err as { code?: string }).code !== 'STORE_UNSUPPORTED_CID') throw err
  }
  if (found === undefined) throw new WorkflowError(WorkflowErrorCode.RECEIPT_NOT_FOUND, `no receipt for ${cid.toString()} (neither a receipt CID nor an instruction with a receipt)`, { cid: cid.toString() })
  const [provenance] = await store.receipts.provenanceOf([found.cid])
  return provenance === undefined ? found : { ...found, provenance }
}

/**
 * The receipts filed under a run, in the order they landed, each with the instruction it
 * answers (read from the workflow). `WORKFLOW_NOT_FOUND` for an unknown run.
 */
export async function runReceipts (store: WorkflowStoreView, cid: CID, run?: RunState): Promise<ReceiptInfo[]> {
  if (run === undefined && await store.workflows.get(cid) === undefined) throw notFound(cid)
  // a run in progress keeps no parsed workflow either: its tasks' CIDs are read from the body
  const body = await store.workflows.getBody(cid)
  const workflow = body === undefined ? undefined : parseWorkflow(decode(body))
  const instructionOf = new Map((workflow?.tasks ?? []).map(t => [t.ran.toString(), t.run.cid]))
  const filed = await store.receipts.listForWorkflow(cid)
  const [stored, provenances] = await Promise.all([store.receipts.getMany(filed), store.receipts.provenanceOf(filed)])
  return filed.flatMap((receiptCid, n) => {
    const bytes = stored[n]
    if (bytes === undefined) return []
    const receipt = readReceipt(bytes)
    const instruction = instructionOf.get(receipt.ran.toString())
    const provenance = provenances[n]
    return [{ cid: receiptCid, receipt, ...(instruction !== undefined ? { instruction } : {}), ...(provenance !== undefined ? { provenance } : {}) }]
  })
}

export function notFound (cid: CID): WorkflowError {
  return new WorkflowError(WorkflowErrorCode.NOT_FOUND, `no workflow run ${cid.toString()} on this node`, { cid: cid.toString() })
}

/**
 * The stored run with the live counts of the run in memory, and its final status when that
 * could not be stored yet; a name stored before names were bounded is reported cut.
 */
function withLive (stored: WorkflowRun, run: RunState | undefined): RunInfo {
  const name = cutRunName(stored.name)
  const info = name === stored.name ? stored : { ...stored, name }
  if (run === undefined || run.interrupted) return info
  const live = { ...info, retries: Math.max(stored.retries, run.retries), tasks: { ...run.counts } }
  if (!run.finalUnstored) return live
  const { wakeAt: _wakeAt, ...rest } = live
  return { ...rest, status: run.status, ...(run.error !== undefined ? { error: run.error } : {}) }
}
