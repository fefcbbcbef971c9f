import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import { Bucket, concat, key, prefixRange, utf8 } from './buckets.js'
import { StoreError, StoreErrorCode } from './errors.js'
import { assertSupported, cidFromBytes, cidKey, HashCode, matches } from './hashing.js'
import type { BatchOp, LevelController, WriteOptions } from './level.js'

export type BlockInput = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

export interface BlockStoreComponents {
  level: LevelController
  logger: Logger
}

const FLUSH_KEY = key(Bucket.meta, utf8('flush'))

/**
 * Content-addressed blocks (`Bucket.blocks`, key = binary CIDv1). Every block is hashed
 * on `put` (a block that does not match its CID is refused) and again on every read (a
 * block corrupted on disk is reported as `STORE_BLOCK_CORRUPT`, never returned).
 * Identity CIDs carry their block inline and are never written.
 *
 * Supported: codecs raw (0x55), dag-pb (0x70), dag-cbor (0x71); hashes sha2-256 (0x12),
 * sha3-256 (0x16), identity (0x00). `asBlockstore()` gives the `interface-blockstore`
 * shape the UnixFS importer and exporter use.
 */
export class BlockStore {
  private readonly level: LevelController
  private readonly log: Logger

  constructor (components: BlockStoreComponents) {
    this.level = components.level
    this.log = components.logger
  }

  /**
   * Stores a block after checking it hashes to `cid`. Idempotent.
   * @returns the CID, as `interface-blockstore` expects.
   */
  async put (cid: CID, input: BlockInput, options: WriteOptions = {}): Promise<CID> {
    const bytes = await collect(input)
    await this.level.batch(await this.putOps(cid, bytes), options)
    return cid
  }

  /**
   * Batch operations that store a verified block, for callers that write a block
   * together with other records. Empty for identity CIDs.
   */
  async putOps (cid: CID, bytes: Uint8Array): Promise<BatchOp[]> {
    assertSupported(cid)
    if (!await matches(cid, bytes)) {
      throw new StoreError(StoreErrorCode.BLOCK_INVALID, `block does not hash to ${cid.toString()}`, { cid: cid.toString() })
    }
    if (cid.multihash.code === HashCode.identity) return []
    return [{ type: 'put', key: key(Bucket.blocks, cidKey(cid)), value: bytes }]
  }

  /** The block's bytes, verified against its CID; undefined when absent. */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    assertSupported(cid)
    if (cid.multihash.code === HashCode.identity) return cid.multihash.digest
    const bytes = await this.level.get(key(Bucket.blocks, cidKey(cid)), { large: true })
    if (bytes === undefined) return undefined
    await this.verify(cid, bytes)
    return bytes
  }

  /** Like `get`, but a missing block is an error (`STORE_BLOCK_NOT_FOUND`). */
  async require (cid: CID): Promise<Uint8Array> {
    const bytes = await this.get(cid)
    if (bytes === undefined) {
      throw new StoreError(StoreErrorCode.BLOCK_NOT_FOUND, `block not found: ${cid.toString()}`, { cid: cid.toString() })
    }
    return bytes
  }

  /** Verified blocks in the order of `cids` (undefined for the absent ones). One LevelDB read. */
  async getMany (cids: CID[]): Promise<Array<Uint8Array | undefined>> {
    for (const cid of cids) assertSupported(cid)
    const stored = cids.map(cid => cid.multihash.code === HashCode.identity ? undefined : key(Bucket.blocks, cidKey(cid)))
    const found = await this.level.getMany(stored.filter((k): k is Uint8Array => k !== undefined), { large: true })
    let next = 0
    return await Promise.all(cids.map(async (cid, i) => {
      if (stored[i] === undefined) return cid.multihash.digest
      const bytes = found[next++]
      if (bytes !== undefined) await this.verify(cid, bytes)
      return bytes
    }))
  }

  /** Whether the block is stored: a key-only read, the block's bytes are not copied out of LevelDB. */
  async has (cid: CID): Promise<boolean> {
    return (await this.hasMany([cid]))[0]
  }

  /** Which of the blocks are stored, in the order of `cids`: one LevelDB read, no bytes copied. */
  async hasMany (cids: CID[]): Promise<boolean[]> {
    for (const cid of cids) assertSupported(cid)
    const stored = cids.map(cid => cid.multihash.code === HashCode.identity ? undefined : key(Bucket.blocks, cidKey(cid)))
    const found = await this.level.hasMany(stored.filter((k): k is Uint8Array => k !== undefined), { large: true })
    let next = 0
    return stored.map(k => k === undefined ? true : found[next++])
  }

  async delete (cid: CID, options: WriteOptions = {}): Promise<void> {
    assertSupported(cid)
    if (cid.multihash.code === HashCode.identity) return
    await this.level.batch([{ type: 'del', key: key(Bucket.blocks, cidKey(cid)) }], options)
  }

  /** Every stored block (CIDv1 form) with its verified bytes, in key order. */
  async * entries (): AsyncGenerator<{ cid: CID, bytes: Uint8Array }> {
    for await (const [k, bytes] of this.level.entries(prefixRange(Uint8Array.of(Bucket.blocks)))) {
      const cid = cidFromBytes(k.subarray(1))
      await this.verify(cid, bytes)
      yield { cid, bytes }
    }
  }

  /**
   * Makes every earlier write durable: one synchronous write, which fsyncs the LevelDB
   * log holding all writes issued before it. Used after a bulk import written without `sync`.
   */
  async flush (): Promise<void> {
    await this.level.put(FLUSH_KEY, new Uint8Array(0), { sync: true })
  }

  private async verify (cid: CID, bytes: Uint8Array): Promise<void> {
    if (await matches(cid, bytes)) return
    this.log.warn({ cid: cid.toString(), size: bytes.byteLength }, 'stored block does not match its CID')
    throw new StoreError(StoreErrorCode.BLOCK_CORRUPT, `stored block is corrupt: ${cid.toString()}`, { cid: cid.toString() })
  }
}

async function collect (input: BlockInput): Promise<Uint8Array> {
  if (input instanceof Uint8Array) return input
  const parts: Uint8Array[] = []
  if (Symbol.asyncIterator in input) {
    for await (const p of input) parts.push(p)
  } else {
    for (const p of input) parts.push(p)
  }
  return parts.length === 1 ? parts[0] : concat(...parts)
}
