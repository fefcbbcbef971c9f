import type { CID } from 'multiformats/cid'
import { encode, receiptCid, type Ipld, type Receipt } from '../ipld/index.js'
import { equalBytes } from '../util/bytes.js'
import type { CapsuleSignature } from '../ipld/index.js'

/** What the requester knows of the task it sent: what a receipt for it must say. */
export interface SentTask {
  ran: CID
  instruction: CID
  func: string
  /** The digest of the awaited outputs it sent (what the executor's signature covers). */
  inputs: Uint8Array
}

/** Why a peer's answer was not taken. */
export type InvalidReason = 'not_ok' | 'ran_mismatch' | 'bad_signature'

/** The receipt this node would write for the task with this output. */
export function expectedReceipt (task: Pick<SentTask, 'ran' | 'func'>, output: Ipld): Receipt {
  return { ran: task.ran, out: ['ok', output], meta: { op: task.func }, iss: null, prf: [] }
}

/**
 * Checks a peer's answer: a successful receipt that is exactly the one this node would write
 * for the task it sent (it binds to the task: same `ran`, function and shape), signed by the
 * peer it came from over that receipt, the instruction and the inputs sent. `verifySignature`
 * gives the signer's peer id, or undefined. Returns the output and receipt CID, or why not.
 */
export async function checkAnswer (
  answer: { receipt: Receipt, signature: CapsuleSignature },
  task: SentTask,
  from: string,
  verifySignature: (signature: CapsuleSignature, receipt: CID, instruction: CID, inputs: Uint8Array) => Promise<string | undefined>
): Promise<{ ok: true, output: Ipld, cid: CID } | { ok: false, reason: InvalidReason }> {
  const { receipt } = answer
  if (receipt.out[0] !== 'ok') return { ok: false, reason: 'not_ok' }
  const output = receipt.out[1]
  const cid = receiptCid(receipt)
  if (!cid.equals(receiptCid(expectedReceipt(task, output)))) return { ok: false, reason: 'ran_mismatch' }
  if (await verifySignature(answer.signature, cid, task.instruction, task.inputs) !== from) return { ok: false, reason: 'bad_signature' }
  return { ok: true, output, cid }
}

/** Whether two outputs are the same value (their DAG-CBOR bytes). */
export function sameOutput (a: Ipld, b: Ipld): boolean {
  return equalBytes(encode(a), encode(b))
}

/** A result from one executor of a replicated task. */
export interface ReplicaResult {
  /** A peer id, or undefined for this node. */
  peer?: string
  output: Ipld
}

/**
 * Whether a replicated task's results settle it: `k` of them, all the same value. Otherwise
 * they are settled against this node's own result (`settleAgainst`).
 */
export function replicasAgree (results: ReplicaResult[], k: number): boolean {
  if (results.length < k || results.length === 0) return false
  const first = encode(results[0].output)
  return results.every(r => equalBytes(encode(r.output), first))
}

/** The peers whose results agree with this node's, and those that do not. */
export function settleAgainst (reference: Ipld, results: ReplicaResult[]): { agree: string[], disagree: Array<ReplicaResult & { peer: string }> } {
  const ref = encode(reference)
  const agree: string[] = []
  const disagree: Array<ReplicaResult & { peer: string }> = []
  for (const r of results) {
    if (r.peer === undefined) continue
    if (equalBytes(encode(r.output), ref)) agree.push(r.peer)
    else disagree.push({ ...r, peer: r.peer })
  }
  return { agree, disagree }
}
