import type { CID } from 'multiformats/cid'
import { decode, encodeReceipt, parseReceipt, type Receipt } from '../ipld/index.js'
import type { Store } from '../store/index.js'
import type { ReceiptMetrics } from '../metrics/index.js'
import type { PeerReceipts, WorkflowStoreView } from './contracts.js'
import type { Outcome } from './task.js'

/** A receipt found for an instruction, with what it means for the tasks awaiting it. */
export interface FoundReceipt {
  cid: CID
  bytes: Uint8Array
  receipt: Receipt
  outcome: Outcome
}

/** A receipt as the API serves it: its CID, the instruction it answers when known, and the receipt. */
export interface ReceiptInfo {
  cid: CID
  instruction?: CID
  receipt: Receipt
}

export interface ReceiptLookupComponents {
  store: Pick<WorkflowStoreView, 'receipts'>
  peers?: PeerReceipts
  metrics?: { receipts: ReceiptMetrics }
}

export function readReceipt (bytes: Uint8Array): Receipt {
  return parseReceipt(decode(bytes))
}

/**
 * The successful receipt to reuse for each instruction, in input order: the first one stored
 * here (one batched read of the store for all of them), else one from a peer (asked at once
 * for every instruction the store lacks, and stored here before it is returned). Undefined
 * where there is none.
 */
export async function lookupReceipts (c: ReceiptLookupComponents, instructions: CID[], signal: AbortSignal): Promise<Array<FoundReceipt | undefined>> {
  const local = await c.store.receipts.getManyByInstruction(instructions)
  return await Promise.all(local.map(async (found, n) => {
    if (found !== undefined) return withOutcome({ ...found, receipt: readReceipt(found.bytes) })
    return await peerReceipt(c, instructions[n], signal)
  }))
}

/** A peer's successful receipt for an instruction, stored here; undefined when no peer has one. */
async function peerReceipt (c: ReceiptLookupComponents, instruction: CID, signal: AbortSignal): Promise<FoundReceipt | undefined> {
  if (c.peers === undefined) return undefined
  const remote = await c.peers.find(instruction, signal).catch(() => null)
  if (remote === null || remote.receipt.out[0] !== 'ok') return undefined
  const found = { cid: remote.cid, bytes: encodeReceipt(remote.receipt), receipt: remote.receipt }
  // the network may have kept it already: count it once
  const { stored } = await c.store.receipts.put({ cid: found.cid, instruction, bytes: found.bytes })
  if (stored) c.metrics?.receipts.fromPeers.inc()
  return withOutcome(found)
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
