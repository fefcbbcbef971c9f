import type { CID } from 'multiformats/cid'
import { decode, parseReceipt, type Receipt } from '../ipld/index.js'
import type { ReceiptProvenance, Store } from '../store/index.js'
import type { ReceiptMetrics } from '../metrics/index.js'
import type { PeerReceipts, ResourceFetcher, ResultTypes, WorkflowStoreView } from './contracts.js'
import { SLEEP_OP } from './sleep.js'
import type { Outcome } from './task.js'

/** A receipt found for an instruction, with what it means for the tasks awaiting it. */
export interface FoundReceipt {
  cid: CID
  bytes: Uint8Array
  receipt: Receipt
  outcome: Outcome
  /** The peer that vouched for it when this node did not compute it (the executor of a task sent to it first). */
  executor?: string
}

/** A receipt as the API serves it: its CID, the instruction it answers when known, the receipt, and who stands behind it. */
export interface ReceiptInfo {
  cid: CID
  instruction?: CID
  receipt: Receipt
  /** Undefined for receipts stored before this was recorded. */
  provenance?: ReceiptProvenance
}

export interface ReceiptLookupComponents {
  store: Pick<WorkflowStoreView, 'receipts'>
  peers?: PeerReceipts
  metrics?: { receipts: ReceiptMetrics }
  /** With `resultTypes`: a peer's result is checked against the type the task's Wasm declares, when the Wasm is here. */
  resources?: ResourceFetcher
  resultTypes?: ResultTypes
}

/** What a run knows of the task an instruction belongs to, to check a receipt a peer made for it. */
export interface TaskExpectation {
  /** The task's invocation CID: a receipt for this task has it as `ran`. */
  ran: CID
  rsc: string
  func: string
}

export function readReceipt (bytes: Uint8Array): Receipt {
  return parseReceipt(decode(bytes))
}

/**
 * The successful receipt to reuse for each instruction, in input order: the one the store
 * gives (one batched read for all of them), else one peers give (asked at once for every
 * instruction the store lacks; what the network's trust policy admits is in the store
 * then). A receipt this node did not compute is reused only when it binds to the task the
 * run holds (`expected`: its `ran` is that task's) and its result has the type the task's
 * Wasm declares, where that is known. Undefined where there is none.
 */
export async function lookupReceipts (c: ReceiptLookupComponents, instructions: CID[], signal: AbortSignal, expected: Array<TaskExpectation | undefined> = []): Promise<Array<FoundReceipt | undefined>> {
  const found = await c.store.receipts.getManyByInstruction(instructions)
  const peers = c.peers
  if (peers !== undefined) {
    const missing = found.flatMap((f, n) => f === undefined ? [n] : [])
    const answered = missing.length === 0 ? [] : await peers.findMany(missing.map(n => instructions[n]), signal).catch(() => missing.map(() => false))
    const now = missing.filter((_n, k) => answered[k])
    const fetched = now.length === 0 ? [] : await c.store.receipts.getManyByInstruction(now.map(n => instructions[n]))
    now.forEach((n, k) => { found[n] = fetched[k] })
  }
  return await Promise.all(found.map(async (f, n) => {
    if (f === undefined) return undefined
    const candidate = withOutcome({ cid: f.cid, bytes: f.bytes, receipt: readReceipt(f.bytes) })
    const computedHere = f.provenance === undefined || f.provenance.local
    if (computedHere) return candidate
    if (!await fitsTask(c, candidate, expected[n], signal)) return undefined
    const executor = executorOf(f.provenance?.vouchers ?? [])
    return executor === undefined ? candidate : { ...candidate, executor }
  }))
}

/** Who ran a receipt this node did not compute: the peer it was sent to, else the first that signed it, else the first voucher. */
function executorOf (vouchers: Array<{ peer: string, via: string, signed: boolean }>): string | undefined {
  return (vouchers.find(v => v.via === 'dispatch') ?? vouchers.find(v => v.signed) ?? vouchers[0])?.peer
}

/** Whether a receipt from peers answers the task the run holds (undefined: an instruction from outside the run, nothing more to check). */
async function fitsTask (c: ReceiptLookupComponents, found: FoundReceipt, task: TaskExpectation | undefined, signal: AbortSignal): Promise<boolean> {
  if (task === undefined) return true
  if (!found.receipt.ran.equals(task.ran)) {
    c.metrics?.receipts.invalidFromPeers.inc({ reason: 'ran_mismatch' })
    return false
  }
  if (c.resultTypes === undefined || c.resources === undefined || task.func === SLEEP_OP) return true
  let wasm: { bytes: Uint8Array, key: string }
  try {
    wasm = await c.resources.fetchResource(task.rsc, { signal, local: true })
  } catch {
    return true // the Wasm is not here: its result type is not known
  }
  if (await c.resultTypes.conforms({ key: wasm.key, wasm: wasm.bytes, func: task.func }, found.receipt.out[1]).catch(() => undefined) === false) {
    c.metrics?.receipts.invalidFromPeers.inc({ reason: 'result_type' })
    return false
  }
  return true
}

/**
 * The last error receipt of an instruction among those filed under a run (`filed`: the
 * run's receipt CIDs). A run resumed after a restart keeps its failed tasks failed
 * instead of running them again.
 */
export async function previousErrorReceipt (store: Pick<Store, 'receipts'>, instruction: CID, filed: ReadonlySet<string>): Promise<FoundReceipt | undefined> {
  const errors = (await store.receipts.listByInstruction(instruction)).filter(e => e.outcome === 'error' && filed.has(e.cid.toString()))
  const last = errors[errors.length - 1]
  if (last === undefined) return undefined
  const bytes = await store.receipts.get(last.cid)
  return bytes === undefined ? undefined : withOutcome({ cid: last.cid, bytes, receipt: readReceipt(bytes) })
}

/**
 * A receipt by its own CID or by the CID of the instruction it answers (the receipt a
 * run would reuse: the first successful one, else the last error one).
 */
export async function findReceipt (store: Pick<Store, 'receipts'>, cid: CID): Promise<ReceiptInfo | undefined> {
  const direct = await store.receipts.get(cid)
  if (direct !== undefined) return { cid, receipt: readReceipt(direct) }
  const ok = await store.receipts.getByInstruction(cid)
  if (ok !== undefined) return { cid: ok.cid, instruction: cid, receipt: readReceipt(ok.bytes) }
  const all = await store.receipts.listByInstruction(cid)
  const last = all[all.length - 1]
  const bytes = last === undefined ? undefined : await store.receipts.get(last.cid)
  return last === undefined || bytes === undefined ? undefined : { cid: last.cid, instruction: cid, receipt: readReceipt(bytes) }
}

function withOutcome (found: { cid: CID, bytes: Uint8Array, receipt: Receipt }): FoundReceipt {
  const [tag, value] = found.receipt.out
  return { ...found, outcome: { ok: tag !== 'error', value } }
}
