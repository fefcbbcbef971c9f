import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import { Bucket, key, prefixRange, readU64, u64 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { asCid, assertSupported, cidFromBytes, cidKey, Codec, matches } from './hashing.js'
import { KeyedMutex } from './keyed-mutex.js'
import { LruMap } from '../util/lru.js'
import type { BatchOp, LevelController } from './level.js'

export interface ReceiptInput {
  /** CID of the receipt: DAG-CBOR, normally sha3-256. Checked against `bytes`. */
  cid: CID
  /** The instruction the receipt is for (the lookup key of replay and await resolution). */
  instruction: CID
  /** The receipt's DAG-CBOR encoding: a map whose `out` is `["ok", v]` or `["error", e]`. */
  bytes: Uint8Array
  /** When given, the receipt is also filed under this workflow (its history and progress). */
  workflow?: CID
}

export type ReceiptOutcome = 'ok' | 'error'

export interface PutReceiptResult {
  /** The receipt was not in the store before. */
  stored: boolean
  /** A workflow was given and the receipt was not yet filed under it. */
  filed: boolean
}

export interface InstructionReceipt {
  cid: CID
  outcome: ReceiptOutcome
  /** Position in the store's write order (larger = written later). */
  seq: number
}

export interface ReceiptStoreComponents {
  level: LevelController
  logger: Logger
}

export interface ReceiptStoreOptions {
  /** Instructions whose reusable receipt is kept in memory (replays skip the disk). @default 10000 */
  cachedInstructions?: number
}

const OUTCOME_BYTE: Record<ReceiptOutcome, number> = { ok: 0, error: 1 }

/**
 * Receipts, kept as the DAG-CBOR bytes the caller encoded, with two indexes:
 * by instruction (several receipts per instruction are possible) and by workflow
 * (in the order the writes were issued).
 *
 * Durability: a `put` writes the receipt, its index entry and its workflow membership in
 * one LevelDB batch with `sync: true`; when the promise resolves the receipt survives a
 * crash, and a crash never leaves a receipt without its index entries.
 */
export class ReceiptStore {
  private readonly level: LevelController
  private readonly log: Logger
  private readonly locks = new KeyedMutex()
  /**
   * The answer of `getByInstruction`, by instruction CID. Safe to keep: the first `ok`
   * receipt of an instruction never changes once written, and its bytes were checked
   * against their CID when read.
   */
  private readonly reusable: LruMap<string, { cid: CID, bytes: Uint8Array }>
  private seq = 0

  constructor (components: ReceiptStoreComponents, options: ReceiptStoreOptions = {}) {
    this.level = components.level
    this.log = components.logger
    this.reusable = new LruMap(options.cachedInstructions ?? 10_000)
  }

  /** Recovers the write sequence from the log. Called by `Store.start()` once the DB is open. */
  async start (): Promise<void> {
    this.seq = 0
    for await (const k of this.level.keys({ ...prefixRange(Uint8Array.of(Bucket.receiptLog)), reverse: true, limit: 1 })) {
      this.seq = readU64(k, 1)
    }
  }

  /**
   * Stores a receipt. Idempotent: storing it again (for the same or another workflow)
   * only adds the missing workflow membership. Throws `STORE_RECEIPT_INVALID` when the
   * bytes do not hash to `cid` or are not a receipt.
   */
  async put (input: ReceiptInput): Promise<PutReceiptResult> {
    return (await this.putMany([input]))[0]
  }

  /**
   * Stores several receipts in one synchronous batch (one fsync for all of them), with the
   * same checks and idempotence as `put`; results are in input order. All or nothing:
   * one invalid receipt fails the call before anything is written.
   */
  async putMany (inputs: ReceiptInput[]): Promise<PutReceiptResult[]> {
    const items = await Promise.all(inputs.map(async input => {
      const cid = asCid(input.cid, 'receipt cid')
      const instruction = asCid(input.instruction, 'instruction cid')
      const workflow = input.workflow === undefined ? undefined : asCid(input.workflow, 'workflow cid')
      const outcome = await checkReceipt(cid, input.bytes)
      return { cid, r: cidKey(cid), instruction, workflow, outcome, bytes: input.bytes }
    }))
    if (items.length === 0) return []
    // an instruction's first ok receipt is decided under its lock: two different receipts for
    // one instruction, stored at once, cannot both become the first
    const lockKeys = [...items.map(i => i.cid.toString()), ...items.filter(i => i.outcome === 'ok').map(i => `first:${i.instruction.toString()}`)]
    return await this.locks.runMany(lockKeys, async () => {
      const receiptKeys = items.map(i => key(Bucket.receipts, i.r))
      const seenKeys = items.map(i => i.workflow === undefined ? undefined : key(Bucket.workflowReceiptSeen, cidKey(i.workflow), i.r))
      const firstKeys = items.map(i => key(Bucket.receiptFirstOk, cidKey(i.instruction)))
      const [present, seen, first] = await Promise.all([
        this.level.getMany(receiptKeys),
        this.level.getMany(seenKeys.filter((k): k is Uint8Array => k !== undefined)),
        this.level.getMany(firstKeys)
      ])
      const ops: BatchOp[] = []
      const added = new Set<string>() // receipts, memberships and first-ok entries added earlier in this batch
      let nextSeen = 0
      const results = items.map((item, n) => {
        const id = item.cid.toString()
        let seq: number | undefined
        const next = (): number => {
          if (seq === undefined) {
            seq = ++this.seq
            ops.push({ type: 'put', key: key(Bucket.receiptLog, u64(seq)), value: item.r })
          }
          return seq
        }
        const stored = present[n] === undefined && !added.has(id)
        if (stored) {
          added.add(id)
          const s = next()
          ops.push({ type: 'put', key: receiptKeys[n], value: item.bytes })
          ops.push({ type: 'put', key: key(Bucket.receiptByInstruction, cidKey(item.instruction), item.r), value: indexValue(item.outcome, s) })
          const firstOf = `first:${item.instruction.toString()}`
          if (item.outcome === 'ok' && first[n] === undefined && !added.has(firstOf)) {
            added.add(firstOf)
            ops.push({ type: 'put', key: firstKeys[n], value: item.r })
          }
        }
        let filed = false
        const seenKey = seenKeys[n]
        if (item.workflow !== undefined && seenKey !== undefined) {
          const member = `${item.workflow.toString()}/${id}`
          if (seen[nextSeen++] === undefined && !added.has(member)) {
            added.add(member)
            ops.push(...filingOps(item.workflow, item.r, seenKey, next()))
            filed = true
          }
        }
        return { stored, filed }
      })
      if (ops.length === 0) return results
      // A new receipt is synced before the call returns. A batch that only files receipts
      // already stored under a workflow (a replay) is not: the receipts themselves are
      // durable, and the filing is history that the next synced write flushes with it.
      await this.level.batch(ops, { sync: results.some(r => r.stored) })
      this.log.debug({ receipts: items.length, ops: ops.length, lastSeq: this.seq }, 'receipts stored')
      return results
    })
  }

  /**
   * Files receipts that are already in the store under a workflow (a replay: no bytes to
   * check or write); those filed under it before are skipped. Returns, in input order,
   * whether each was filed now. Not synced, like a `putMany` that stores no new receipt.
   */
  async fileUnder (workflow: CID, receipts: CID[]): Promise<boolean[]> {
    const w = asCid(workflow, 'workflow cid')
    const items = receipts.map(c => {
      const cid = asCid(c, 'receipt cid')
      return { id: cid.toString(), r: cidKey(cid) }
    })
    if (items.length === 0) return []
    return await this.locks.runMany(items.map(i => i.id), async () => {
      const seenKeys = items.map(i => key(Bucket.workflowReceiptSeen, cidKey(w), i.r))
      const seen = await this.level.getMany(seenKeys)
      const ops: BatchOp[] = []
      const added = new Set<string>()
      const filed = items.map((item, n) => {
        if (seen[n] !== undefined || added.has(item.id)) return false
        added.add(item.id)
        const seq = ++this.seq
        ops.push({ type: 'put', key: key(Bucket.receiptLog, u64(seq)), value: item.r }, ...filingOps(w, item.r, seenKeys[n], seq))
        return true
      })
      if (ops.length > 0) await this.level.batch(ops, { sync: false })
      return filed
    })
  }

  /** The receipt's bytes, checked against its CID (`STORE_RECEIPT_CORRUPT`); undefined when absent. */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    assertSupported(cid)
    const bytes = await this.level.get(key(Bucket.receipts, cidKey(cid)))
    return bytes === undefined ? undefined : await this.checked(cid, bytes)
  }

  /** `get` for several receipts with one read of the database, in input order. */
  async getMany (cids: CID[]): Promise<Array<Uint8Array | undefined>> {
    for (const cid of cids) assertSupported(cid)
    const found = await this.level.getMany(cids.map(cid => key(Bucket.receipts, cidKey(cid))))
    return await Promise.all(found.map(async (bytes, n) => bytes === undefined ? undefined : await this.checked(cids[n], bytes)))
  }

  /** Stored bytes of a receipt, once they are known to hash to its CID (`STORE_RECEIPT_CORRUPT`). */
  private async checked (cid: CID, bytes: Uint8Array): Promise<Uint8Array> {
    if (!await matches(cid, bytes)) {
      this.log.warn({ receipt: cid.toString() }, 'stored receipt does not match its CID')
      throw new StoreError(StoreErrorCode.RECEIPT_CORRUPT, `stored receipt is corrupt: ${cid.toString()}`, { cid: cid.toString() })
    }
    return bytes
  }

  async has (cid: CID): Promise<boolean> {
    const k = key(Bucket.receipts, cidKey(asCid(cid, 'receipt cid')))
    for await (const _ of this.level.keys({ gte: k, lte: k, limit: 1 })) return true
    return false
  }

  /**
   * The receipt to reuse for an instruction: the **first `ok` receipt written** for it
   * (lowest write sequence), so the answer never changes once given. Error receipts are
   * never returned here (see `listByInstruction`). Undefined when there is none.
   */
  async getByInstruction (instruction: CID): Promise<{ cid: CID, bytes: Uint8Array } | undefined> {
    return (await this.getManyByInstruction([instruction]))[0]
  }

  /**
   * `getByInstruction` for several instructions at once, in input order: two reads of the
   * database for all of them (their first-ok entries, then the receipts), instead of a
   * range scan and a read each.
   */
  async getManyByInstruction (instructions: CID[]): Promise<Array<{ cid: CID, bytes: Uint8Array } | undefined>> {
    const ids = instructions.map(i => asCid(i, 'instruction cid').toString())
    const out: Array<{ cid: CID, bytes: Uint8Array } | undefined> = ids.map(id => this.reusable.get(id))
    const missing = out.flatMap((found, n) => found === undefined ? [n] : [])
    if (missing.length === 0) return out
    const firsts = await this.level.getMany(missing.map(n => key(Bucket.receiptFirstOk, cidKey(instructions[n]))))
    const named = missing.flatMap((n, k) => {
      const r = firsts[k]
      return r === undefined ? [] : [{ n, cid: cidFromBytes(r) }]
    })
    if (named.length === 0) return out
    const bytes = await this.level.getMany(named.map(x => key(Bucket.receipts, cidKey(x.cid))))
    for (const [k, { n, cid }] of named.entries()) {
      const b = bytes[k]
      if (b === undefined) throw new StoreError(StoreErrorCode.RECORD_CORRUPT, `index names a missing receipt: ${cid.toString()}`, { cid: cid.toString() })
      const found = { cid, bytes: await this.checked(cid, b) }
      this.reusable.set(ids[n], found)
      out[n] = found
    }
    return out
  }

  /**
   * The `receiptFirstOk` entries the instruction index implies (each instruction's `ok`
   * receipt with the lowest sequence), for a store written before that bucket existed.
   */
  async firstOkIndexOps (): Promise<BatchOp[]> {
    const first = new Map<string, { instruction: CID, receipt: Uint8Array, seq: number }>()
    const prefix = Uint8Array.of(Bucket.receiptByInstruction)
    for await (const [k, v] of this.level.entries(prefixRange(prefix))) {
      const { outcome, seq } = parseIndexValue(v)
      if (outcome !== 'ok') continue
      let instruction: CID
      let receipt: Uint8Array
      try {
        [instruction, receipt] = CID.decodeFirst(k.subarray(prefix.byteLength))
      } catch (err) {
        throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'malformed receipt index key', undefined, { cause: err })
      }
      const known = first.get(instruction.toString())
      if (known === undefined || seq < known.seq) first.set(instruction.toString(), { instruction, receipt, seq })
    }
    return [...first.values()].map(f => ({ type: 'put', key: key(Bucket.receiptFirstOk, cidKey(f.instruction)), value: f.receipt }))
  }

  /** Every receipt stored for an instruction, ok and error, in write order. */
  async listByInstruction (instruction: CID): Promise<InstructionReceipt[]> {
    const prefix = key(Bucket.receiptByInstruction, cidKey(asCid(instruction, 'instruction cid')))
    const out: InstructionReceipt[] = []
    for await (const [k, v] of this.level.entries(prefixRange(prefix))) {
      out.push({ cid: cidFromBytes(k.subarray(prefix.byteLength)), ...parseIndexValue(v) })
    }
    return out.sort((a, b) => a.seq - b.seq)
  }

  /** CIDs of the receipts filed under a workflow, in the order they were written. */
  async listForWorkflow (workflow: CID): Promise<CID[]> {
    const prefix = key(Bucket.workflowReceipts, cidKey(asCid(workflow, 'workflow cid')))
    const out: CID[] = []
    for await (const [, v] of this.level.entries(prefixRange(prefix))) out.push(cidFromBytes(v))
    return out
  }

  /** Number of receipts filed under a workflow (a key-only range count). */
  async countForWorkflow (workflow: CID): Promise<number> {
    return await this.level.count(prefixRange(key(Bucket.workflowReceipts, cidKey(asCid(workflow, 'workflow cid')))))
  }

  /** Number of receipts in the store. Counts keys: O(n), meant for occasional use. */
  async count (): Promise<number> {
    return await this.level.count(prefixRange(Uint8Array.of(Bucket.receipts)))
  }
}

/** The writes that file receipt `r` under `workflow` at position `seq`. */
function filingOps (workflow: CID, r: Uint8Array, seenKey: Uint8Array, seq: number): BatchOp[] {
  return [
    { type: 'put', key: key(Bucket.workflowReceipts, cidKey(workflow), u64(seq)), value: r },
    { type: 'put', key: seenKey, value: u64(seq) }
  ]
}

async function checkReceipt (cid: CID, bytes: Uint8Array): Promise<ReceiptOutcome> {
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

function indexValue (outcome: ReceiptOutcome, seq: number): Uint8Array {
  const v = new Uint8Array(9)
  v[0] = OUTCOME_BYTE[outcome]
  v.set(u64(seq), 1)
  return v
}

function parseIndexValue (v: Uint8Array): { outcome: ReceiptOutcome, seq: number } {
  if (v.byteLength !== 9 || v[0] > 1) throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'malformed receipt index entry')
  return { outcome: v[0] === OUTCOME_BYTE.ok ? 'ok' : 'error', seq: readU64(v, 1) }
}
