import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { Bucket, key, readU64, u64 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { assertSupported, cidKey, Codec, matches } from './hashing.js'
import type { BatchOp } from './level.js'

/** The forms of a receipt's index entries on disk, and the checks a receipt passes before it is stored. */

export type ReceiptOutcome = 'ok' | 'error'

const OUTCOME_BYTE: Record<ReceiptOutcome, number> = { ok: 0, error: 1 }

/** The writes that file receipt `r` under `workflow` at position `seq`. */
export function filingOps (workflow: CID, r: Uint8Array, seenKey: Uint8Array, seq: number): BatchOp[] {
  return [
    { type: 'put', key: key(Bucket.workflowReceipts, cidKey(workflow), u64(seq)), value: r },
    { type: 'put', key: seenKey, value: u64(seq) }
  ]
}

export async function checkReceipt (cid: CID, bytes: Uint8Array): Promise<ReceiptOutcome> {
  if (!(bytes instanceof Uint8Array)) throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, 'receipt bytes must be a Uint8Array')
  assertSupported(cid)
  if (cid.code !== Codec.dagCbor) {
    throw new StoreError(StoreErrorCode.RECEIPT_INVALID, `receipt CID is not dag-cbor: ${cid.toString()}`, { cid: cid.toString() })
  }
  if (!await matches(cid, bytes)) {
    throw new StoreError(StoreErrorCode.RECEIPT_INVALID, `receipt bytes do not hash to ${cid.toString()}`, { cid: cid.toString() })
  }
  return receiptOutcome(bytes, cid)
}

/** Reads `out[0]` of a DAG-CBOR receipt: `"ok"` or `"error"`. */
export function receiptOutcome (bytes: Uint8Array, cid?: CID): ReceiptOutcome {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new StoreError(StoreErrorCode.RECEIPT_INVALID, 'receipt is not valid DAG-CBOR', { cid: cid?.toString() }, { cause: err })
  }
  const out = (value !== null && typeof value === 'object') ? (value as { out?: unknown }).out : undefined
  const tag: unknown = Array.isArray(out) ? out[0] : undefined
  if (tag !== 'ok' && tag !== 'error') {
    throw new StoreError(StoreErrorCode.RECEIPT_INVALID, 'receipt has no `out` of ["ok", v] or ["error", e]', { cid: cid?.toString() })
  }
  return tag
}

export function indexValue (outcome: ReceiptOutcome, seq: number): Uint8Array {
  const v = new Uint8Array(9)
  v[0] = OUTCOME_BYTE[outcome]
  v.set(u64(seq), 1)
  return v
}

export function parseIndexValue (v: Uint8Array): { outcome: ReceiptOutcome, seq: number } {
  if (v.byteLength !== 9 || v[0] > 1) throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'malformed receipt index entry')
  return { outcome: v[0] === OUTCOME_BYTE.ok ? 'ok' : 'error', seq: readU64(v, 1) }
}
