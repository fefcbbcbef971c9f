import { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import { Bucket, key, prefixRange, readU64, u64 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { cidText } from '../ipld/index.js'
import { asCid, assertSupported, cidFromBytes, cidKey, matches } from './hashing.js'
import { KeyedMutex } from './keyed-mutex.js'
import { LruMap } from '../util/lru.js'
import type { BatchOp, LevelController } from './level.js'
import { checkReceipt, filingOps, indexValue, parseIndexValue, type ReceiptOutcome } from './receipt-records.js'

export { receiptOutcome, type ReceiptOutcome } from './receipt-records.js'
import { decodeProvenance, encodeProvenance, mergeProvenance, type ReceiptProvenance, type ReceiptSource } from './receipt-provenance.js'

const LOCAL: ReceiptSource = { kind: 'local' }

export interface ReceiptInput {
  /** CID of the receipt: DAG-CBOR, normally sha3-256. Checked against `bytes`. */
  cid: CID
  /** The instruction the receipt is for (the lookup key of replay and await resolution). */
  instruction: CID
  /** The receipt's DAG-CBOR encoding: a map whose `out` is `["ok", v]` or `["error", e]`. */
  bytes: Uint8Array
  /** When given, the receipt is also filed under this workflow (its history and progress). */
  workflow?: CID
  /** Who stands behind it. @default { kind: 'local' }: this node computed it */
  source?: ReceiptSource
}

/** A receipt to reuse for an instruction, with who stands behind it (undefined for receipts stored before that was recorded). */
export interface ReusableReceipt {
  cid: CID
  bytes: Uint8Array
  provenance?: ReceiptProvenance
}


export interface PutReceiptResult {
  /** The receipt was not in the store before. */
  stored: boolean
  /** A workflow was given and the receipt was not yet filed under it. */
  filed: boolean
  /** The peer's receipt this one, computed here, took the place of as the one to reuse. */
  displaced?: CID
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
  /**
   * Memory for the reusable receipts kept by instruction (replays skip the disk), counted as
   * each receipt's bytes plus ~1 kB for its CID, key and entry: ~3 000 receipts of a task
   * returning a number. @default 4 MiB
   */
  cacheBytes?: number
}

/** Memory an entry of the reusable receipts' cache takes besides the receipt's bytes (measured: ~0.95 kB, 830 bytes of it heap). */
const CACHE_ENTRY_BYTES = 1024

/**
 * Receipts, kept as the DAG-CBOR bytes the caller encoded, with two indexes:
 * by instruction (several receipts per instruction are possible) and by workflow
 * (in the order the writes were issued).
 *
 * Durability: a `put` writes the receipt, its index entry and its workflow membership in
 * one LevelDB batch, with `sync: true` for a receipt computed here: when the promise
 * resolves it survives a crash. A receipt from a peer is written without a sync (a crash
 * may lose it; the network has it). A crash never leaves a receipt without its index entries.
 */
export class ReceiptStore {
  private readonly level: LevelController
  private readonly log: Logger
  private readonly locks = new KeyedMutex()
  /**
   * The answer of `getByInstruction`, by instruction CID; its bytes were checked against
   * their CID when read. `putMany` keeps it in line when a receipt this node computed takes
   * the place of a peer's, or a receipt gains a voucher.
   */
  private readonly reusable: LruMap<string, ReusableReceipt>
  private seq = 0

  constructor (components: ReceiptStoreComponents, options: ReceiptStoreOptions = {}) {
    this.level = components.level
    this.log = components.logger
    this.reusable = new LruMap(options.cacheBytes ?? 4 * 1024 * 1024, { weigh: r => r.bytes.byteLength + CACHE_ENTRY_BYTES })
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
      // the texts of the CIDs, written once: lock keys, batch keys and cache keys all use them
      return { cid, id: cidText(cid), r: cidKey(cid), instruction, instructionId: cidText(instruction), workflow, outcome, bytes: input.bytes, source: input.source ?? LOCAL }
    }))
    if (items.length === 0) return []
    // an instruction's reusable receipt is decided under its lock: two different receipts for
    // one instruction, stored at once, cannot both become it
    const lockKeys = [...items.map(i => i.id), ...items.filter(i => i.outcome === 'ok').map(i => `first:${i.instructionId}`)]
    return await this.locks.runMany(lockKeys, async () => {
      const receiptKeys = items.map(i => key(Bucket.receipts, i.r))
      const seenKeys = items.map(i => i.workflow === undefined ? undefined : key(Bucket.workflowReceiptSeen, cidKey(i.workflow), i.r))
      const firstKeys = items.map(i => key(Bucket.receiptFirstOk, cidKey(i.instruction)))
      // one read of the database for all four kinds of entry (a read costs about the same for one key or forty)
      const seenWanted = seenKeys.filter((k): k is Uint8Array => k !== undefined)
      const values = await this.level.getMany([...receiptKeys, ...firstKeys, ...items.map(i => key(Bucket.receiptProvenance, i.r)), ...seenWanted])
      const count = items.length
      const present = values.slice(0, count)
      const first = values.slice(count, 2 * count)
      const provenances = values.slice(2 * count, 3 * count)
      const seen = values.slice(3 * count)
      // whether each instruction's current reusable receipt was computed here (a local one replaces a peer's)
      const firstLocal = await this.localFlags(first)
      const ops: BatchOp[] = []
      const added = new Set<string>() // receipts, memberships and first-ok entries added earlier in this batch
      const provenanceNow = new Map<string, ReceiptProvenance>()
      let nextSeen = 0
      const results = items.map((item, n) => {
        const { id } = item
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
        }
        const before = provenanceNow.get(id) ?? (provenances[n] === undefined ? undefined : decodeProvenance(provenances[n]))
        const merged = mergeProvenance(before, item.source)
        if (merged !== undefined) {
          provenanceNow.set(id, merged)
          ops.push({ type: 'put', key: key(Bucket.receiptProvenance, item.r), value: encodeProvenance(merged) })
        }
        const firstOf = `first:${item.instructionId}`
        let displaced: CID | undefined
        if (item.outcome === 'ok' && !added.has(firstOf)) {
          const current = first[n] === undefined ? undefined : cidFromBytes(first[n])
          const takesOver = current === undefined || (item.source.kind === 'local' && firstLocal[n] === false && !current.equals(item.cid))
          if (takesOver) {
            added.add(firstOf)
            ops.push({ type: 'put', key: firstKeys[n], value: item.r })
            this.reusable.delete(item.instructionId)
            displaced = current
          }
        }
        if (merged !== undefined) this.refreshCached(item.instructionId, item.cid, merged)
        let filed = false
        const seenKey = seenKeys[n]
        if (item.workflow !== undefined && seenKey !== undefined) {
          const member = `${cidText(item.workflow)}/${id}`
          if (seen[nextSeen++] === undefined && !added.has(member)) {
            added.add(member)
            ops.push(...filingOps(item.workflow, item.r, seenKey, next()))
            filed = true
          }
        }
        return displaced === undefined ? { stored, filed } : { stored, filed, displaced }
      })
      if (ops.length === 0) return results
      // A new receipt computed here is synced before the call returns. A batch of receipts
      // from peers is not (a crash may lose them; peers still hold them, and the receipt
      // exchange brings them back), nor one that only files receipts already stored under a
      // workflow (a replay): that filing is history the next synced write flushes with it.
      await this.level.batch(ops, { sync: results.some((r, n) => r.stored && items[n].source.kind === 'local') })
      this.log.debug({ receipts: items.length, ops: ops.length, lastSeq: this.seq }, 'receipts stored')
      return results
    })
  }

  /** For each first-ok entry (a receipt CID, or undefined), whether that receipt was computed here; undefined where there is no entry. */
  private async localFlags (firsts: Array<Uint8Array | undefined>): Promise<Array<boolean | undefined>> {
    const named = firsts.flatMap((r, n) => r === undefined ? [] : [n])
    if (named.length === 0) return firsts.map(() => undefined)
    const found = await this.level.getMany(named.map(n => key(Bucket.receiptProvenance, firsts[n]!)))
    const out: Array<boolean | undefined> = firsts.map(() => undefined)
    named.forEach((n, k) => {
      const bytes = found[k]
      // a receipt stored before provenance was recorded counts as this node's: it was reused as such
      out[n] = bytes === undefined ? true : decodeProvenance(bytes).local
    })
    return out
  }

  /** Keeps a cached reusable receipt's provenance current. */
  private refreshCached (instruction: string, cid: CID, provenance: ReceiptProvenance): void {
    const cached = this.reusable.get(instruction)
    if (cached !== undefined && cached.cid.equals(cid)) this.reusable.set(instruction, { ...cached, provenance })
  }

  /** Who stands behind each receipt, in input order; undefined where nothing was recorded. */
  async provenanceOf (cids: CID[]): Promise<Array<ReceiptProvenance | undefined>> {
    const found = await this.level.getMany(cids.map(c => key(Bucket.receiptProvenance, cidKey(asCid(c, 'receipt cid')))))
    return found.map(bytes => bytes === undefined ? undefined : decodeProvenance(bytes))
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
      return { id: cidText(cid), r: cidKey(cid) }
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
   * (lowest write sequence), unless this node later computed one itself, which takes its
   * place (a peer's receipt never outranks the node's own). Error receipts are never
   * returned here (see `listByInstruction`). Undefined when there is none.
   */
  async getByInstruction (instruction: CID): Promise<ReusableReceipt | undefined> {
    return (await this.getManyByInstruction([instruction]))[0]
  }

  /**
   * `getByInstruction` for several instructions at once, in input order: two reads of the
   * database for all of them (their first-ok entries, then the receipts), instead of a
   * range scan and a read each.
   */
  async getManyByInstruction (instructions: CID[]): Promise<Array<ReusableReceipt | undefined>> {
    // flat text: these are the cache's keys (cidText)
    const ids = instructions.map(i => cidText(asCid(i, 'instruction cid')))
    const out: Array<ReusableReceipt | undefined> = ids.map(id => this.reusable.get(id))
    const missing = out.flatMap((found, n) => found === undefined ? [n] : [])
    if (missing.length === 0) return out
    const firsts = await this.level.getMany(missing.map(n => key(Bucket.receiptFirstOk, cidKey(instructions[n]))))
    const named = missing.flatMap((n, k) => {
      const r = firsts[k]
      return r === undefined ? [] : [{ n, cid: cidFromBytes(r) }]
    })
    if (named.length === 0) return out
    const [bytes, provenances] = await Promise.all([
      this.level.getMany(named.map(x => key(Bucket.receipts, cidKey(x.cid)))),
      this.level.getMany(named.map(x => key(Bucket.receiptProvenance, cidKey(x.cid))))
    ])
    for (const [k, { n, cid }] of named.entries()) {
      const b = bytes[k]
      if (b === undefined) throw new StoreError(StoreErrorCode.RECORD_CORRUPT, `index names a missing receipt: ${cid.toString()}`, { cid: cid.toString() })
      const p = provenances[k]
      const found: ReusableReceipt = { cid, bytes: await this.checked(cid, b), ...(p !== undefined ? { provenance: decodeProvenance(p) } : {}) }
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
