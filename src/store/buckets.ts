import { concatBytes } from '../util/bytes.js'
/**
 * Every key in the database starts with one byte naming its bucket. The numbers are
 * part of the on-disk format: never renumber or reuse one. A retired bucket stays here
 * as a comment.
 *
 * Key layouts (‖ is concatenation; CIDs as their binary form, CIDv0 normalised to v1;
 * `seq` and times are unsigned 64-bit big-endian so byte order is numeric order):
 */
export enum Bucket {
  /** utf8 name → DAG-CBOR value. Holds `schemaVersion`. */
  meta = 0,
  /** CID → block bytes. */
  blocks = 1,
  /** receipt CID → receipt DAG-CBOR bytes. */
  receipts = 2,
  /** instruction CID ‖ receipt CID → [outcome byte, seq]. Several receipts per instruction. */
  receiptByInstruction = 3,
  /** seq → receipt CID. One entry per write event, in the order writes were issued. */
  receiptLog = 4,
  /** workflow CID → DAG-CBOR run record. */
  workflowRuns = 5,
  /** workflow CID ‖ seq → receipt CID: a workflow's receipts in landing order. */
  workflowReceipts = 6,
  /** workflow CID ‖ receipt CID → seq: membership test, so a receipt is filed once per workflow. */
  workflowReceiptSeen = 7,
  /** createdAt ‖ workflow CID → empty: runs by creation time. */
  workflowsByCreated = 8,
  /** status byte ‖ createdAt ‖ workflow CID → empty: runs of one status by creation time. */
  workflowsByStatus = 9,
  /**
   * instruction CID → receipt CID: the `ok` receipt to reuse for it (schema 2): the first one
   * written, except that a receipt this node computed replaces one it only got from peers.
   */
  receiptFirstOk = 10,
  /** receipt CID → DAG-CBOR `{local, vouchers}`: who stands behind a receipt. Absent for receipts stored before it existed. */
  receiptProvenance = 11
}

/** Concatenates byte strings. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts)
}

/** `bucket ‖ parts...`. */
export function key (bucket: Bucket, ...parts: Uint8Array[]): Uint8Array {
  return concat(Uint8Array.of(bucket), ...parts)
}

/**
 * The smallest key greater than every key starting with `prefix`, for `lt` bounds of a
 * prefix scan. Undefined when the prefix is all 0xff (no upper bound needed).
 */
export function prefixEnd (prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]++
      return end.subarray(0, i + 1)
    }
  }
  return undefined
}

/** Range options covering exactly the keys that start with `prefix`. */
export function prefixRange (prefix: Uint8Array): { gte: Uint8Array, lt?: Uint8Array } {
  const lt = prefixEnd(prefix)
  return lt === undefined ? { gte: prefix } : { gte: prefix, lt }
}

/** Unsigned 64-bit big-endian encoding of a non-negative safe integer. */
export function u64 (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative safe integer: ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** Reads an unsigned 64-bit big-endian integer at `offset`. */
export function readU64 (bytes: Uint8Array, offset = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Number(view.getBigUint64(offset))
}

export function utf8 (s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

/** A plain Uint8Array view over any Uint8Array (Level returns Buffers). No copy. */
export function plain (bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
