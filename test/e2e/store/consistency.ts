import * as dagCbor from '@ipld/dag-cbor'
import { sha3_256 } from '@noble/hashes/sha3.js'
import type { Level } from 'level'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { Bucket, SCHEMA_VERSION, receiptOutcome } from '../../../src/store/index.js'

export interface Consistency {
  problems: string[]
  counts: Record<string, number>
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const u64 = (b: Uint8Array, at = 0): number => Number(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64BE(at))

async function hashMatches (cid: CID, bytes: Uint8Array): Promise<boolean> {
  const digest = cid.multihash.code === 0x16 ? sha3_256(bytes) : (await sha256.digest(bytes)).digest
  return hex(digest) === hex(cid.multihash.digest)
}

/**
 * Reads every key and value of a (closed) store's LevelDB directly and checks that each
 * decodes and that the records agree with each other: every receipt has its instruction
 * index entry and log entry, every membership points at a stored receipt exactly once,
 * every index entry points at a record. Independent of the store's own read paths.
 */
export async function checkConsistency (db: Level<Uint8Array, Uint8Array>): Promise<Consistency> {
  const problems: string[] = []
  const counts: Record<string, number> = {}
  const byBucket = new Map<number, Array<[Uint8Array, Uint8Array]>>()
  for await (const [k, v] of db.iterator()) {
    const list = byBucket.get(k[0]) ?? []
    list.push([k.subarray(1), v])
    byBucket.set(k[0], list)
  }
  const entries = (b: Bucket): Array<[Uint8Array, Uint8Array]> => byBucket.get(b) ?? []
  for (const [b, list] of byBucket) counts[Bucket[b] ?? `unknown-${b}`] = list.length
  for (const b of byBucket.keys()) if (Bucket[b] === undefined) problems.push(`unknown bucket ${b}`)

  const receipts = new Set<string>()
  for (const [k, v] of entries(Bucket.receipts)) {
    const cid = CID.decode(k)
    receipts.add(cid.toString())
    if (!await hashMatches(cid, v)) problems.push(`receipt ${cid.toString()} does not match its bytes`)
    try { receiptOutcome(v) } catch { problems.push(`receipt ${cid.toString()} does not decode`) }
  }
  const indexed = new Set<string>()
  const seqs = new Map<number, string>()
  const firstOk = new Map<string, { r: string, seq: number }>()
  for (const [k, v] of entries(Bucket.receiptByInstruction)) {
    const [instruction, rest] = CID.decodeFirst(k)
    const r = CID.decode(rest).toString()
    indexed.add(r)
    if (v.length !== 9 || v[0] > 1) problems.push(`bad index value for ${r}`)
    if (!receipts.has(r)) problems.push(`index entry for missing receipt ${r}`)
    seqs.set(u64(v, 1), r)
    const known = firstOk.get(instruction.toString())
    if (v[0] === 0 && (known === undefined || u64(v, 1) < known.seq)) firstOk.set(instruction.toString(), { r, seq: u64(v, 1) })
  }
  for (const r of receipts) if (!indexed.has(r)) problems.push(`receipt ${r} has no instruction index entry`)
  // each instruction's first-ok entry names its ok receipt with the lowest sequence
  const firsts = entries(Bucket.receiptFirstOk)
  for (const [k, v] of firsts) {
    const instruction = CID.decode(k).toString()
    if (firstOk.get(instruction)?.r !== CID.decode(v).toString()) problems.push(`first-ok entry of ${instruction} is not its first ok receipt`)
  }
  if (firsts.length !== firstOk.size) problems.push(`first-ok entries ${firsts.length} != instructions with an ok receipt ${firstOk.size}`)
  const log = new Map<number, string>()
  for (const [k, v] of entries(Bucket.receiptLog)) {
    const r = CID.decode(v).toString()
    log.set(u64(k), r)
    if (!receipts.has(r)) problems.push(`log entry ${u64(k)} names missing receipt ${r}`)
  }
  for (const [seq, r] of seqs) if (log.get(seq) !== r) problems.push(`receipt ${r} (seq ${seq}) missing from the log`)

  const members = new Map<string, string>()
  for (const [k, v] of entries(Bucket.workflowReceipts)) {
    const [w, rest] = CID.decodeFirst(k)
    const seq = u64(rest)
    const r = CID.decode(v).toString()
    const id = `${w.toString()}/${r}`
    if (members.has(id)) problems.push(`receipt ${r} filed twice under ${w.toString()}`)
    members.set(id, String(seq))
    if (!receipts.has(r)) problems.push(`membership names missing receipt ${r}`)
    if (log.get(seq) !== r) problems.push(`membership seq ${seq} of ${r} missing from the log`)
  }
  let seen = 0
  for (const [k, v] of entries(Bucket.workflowReceiptSeen)) {
    const [w, rest] = CID.decodeFirst(k)
    const id = `${w.toString()}/${CID.decode(rest).toString()}`
    seen++
    if (members.get(id) !== String(u64(v))) problems.push(`membership marker ${id} disagrees with the list`)
  }
  if (seen !== members.size) problems.push(`membership markers ${seen} != list entries ${members.size}`)

  const runs = new Map<string, { createdAt: number, status: string }>()
  for (const [k, v] of entries(Bucket.workflowRuns)) {
    const rec = dagCbor.decode<{ v: number, name: string, status: string, createdAt: number }>(v)
    if (rec.v !== 1 || typeof rec.name !== 'string') problems.push(`malformed run record ${CID.decode(k).toString()}`)
    runs.set(CID.decode(k).toString(), rec)
  }
  for (const [k] of entries(Bucket.workflowsByCreated)) {
    const w = CID.decode(k.subarray(8)).toString()
    if (runs.get(w)?.createdAt !== u64(k)) problems.push(`stale created index for ${w}`)
  }
  if (entries(Bucket.workflowsByCreated).length !== runs.size) problems.push('created index size differs from runs')
  if (entries(Bucket.workflowsByStatus).length !== runs.size) problems.push('status index size differs from runs')
  for (const [k, v] of entries(Bucket.blocks)) {
    const cid = CID.decode(k)
    if (!await hashMatches(cid, v)) problems.push(`block ${cid.toString()} does not match its bytes`)
  }
  for (const [k, v] of entries(Bucket.meta)) {
    const name = new TextDecoder().decode(k)
    if (name === 'schemaVersion' && dagCbor.decode(v) !== SCHEMA_VERSION) problems.push('bad schema version')
  }
  return { problems, counts }
}
