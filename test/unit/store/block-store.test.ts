import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha512 } from 'multiformats/hashes/sha2'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Bucket, type Store, StoreErrorCode } from '../../../src/store/index.js'
import { all, codeOf, createTestStore, DAG_PB, dagCborCid, equalBytes, RAW, sha256Cid, sha3Cid, withRawLevel } from '../../utils/store.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('BlockStore', () => {
  let store: Store
  let close: () => Promise<void>
  beforeEach(async () => { ({ store, close } = await createTestStore()) })
  afterEach(async () => { await close() })

  it('stores and returns blocks under sha2-256, sha3-256 and identity CIDs of raw, dag-pb and dag-cbor', async () => {
    const raw = enc('raw block')
    const pb = enc('pretend dag-pb bytes')
    const cbor = dagCborCid({ hello: 'world' })
    const rawCid = await sha256Cid(RAW, raw)
    const pbCid = await sha256Cid(DAG_PB, pb)
    const sha3Raw = sha3Cid(RAW, raw)
    expect(await store.blocks.put(rawCid, raw)).toBe(rawCid)
    await store.blocks.put(pbCid, pb)
    await store.blocks.put(cbor.cid, cbor.bytes)
    await store.blocks.put(sha3Raw, raw)
    expect(cbor.cid.toString()).toBe('bafyrmidyqnbqbeh5lmkwavjizfmsz6ezwvjleweh5frwk56akfyugoio2e')
    expect(equalBytes(await store.blocks.get(rawCid) as Uint8Array, raw)).toBe(true)
    expect(equalBytes(await store.blocks.get(pbCid) as Uint8Array, pb)).toBe(true)
    expect(equalBytes(await store.blocks.get(cbor.cid) as Uint8Array, cbor.bytes)).toBe(true)
    expect(equalBytes(await store.blocks.get(sha3Raw) as Uint8Array, raw)).toBe(true)
    expect(await store.blocks.has(rawCid)).toBe(true)

    const inline = CID.createV1(RAW, identity.digest(enc('tiny')))
    expect(await store.blocks.has(inline)).toBe(true)
    expect(equalBytes(await store.blocks.get(inline) as Uint8Array, enc('tiny'))).toBe(true)
    await store.blocks.put(inline, enc('tiny'))
  })

  it('treats a CIDv0 and its CIDv1 form as the same block', async () => {
    const bytes = enc('a dag-pb node in CIDv0 form')
    const v1 = await sha256Cid(DAG_PB, bytes)
    const v0 = v1.toV0()
    expect(v0.version).toBe(0)
    await store.blocks.put(v0, bytes)
    expect(await store.blocks.has(v1)).toBe(true)
    expect(equalBytes(await store.blocks.get(v1) as Uint8Array, bytes)).toBe(true)
    expect(equalBytes(await store.blocks.get(v0) as Uint8Array, bytes)).toBe(true)
  })

  it('returns undefined for an absent block and STORE_BLOCK_NOT_FOUND from require', async () => {
    const cid = await sha256Cid(RAW, enc('never stored'))
    expect(await store.blocks.get(cid)).toBeUndefined()
    expect(await store.blocks.has(cid)).toBe(false)
    expect(await codeOf(store.blocks.require(cid))).toBe(StoreErrorCode.BLOCK_NOT_FOUND)
  })

  /** Blocks 'a' (sha2-256) and 'bb' (sha3-256) stored; a CID never stored, and an identity CID ('i'). */
  async function twoStoredBlocks (): Promise<{ ca: CID, cb: CID, missing: CID, inline: CID }> {
    const a = enc('a'); const b = enc('bb')
    const ca = await sha256Cid(RAW, a); const cb = sha3Cid(RAW, b)
    await store.blocks.put(ca, a)
    await store.blocks.put(cb, b)
    return { ca, cb, missing: await sha256Cid(RAW, enc('missing')), inline: CID.createV1(RAW, identity.digest(enc('i'))) }
  }

  it('getMany keeps the order of the request, with undefined for absent blocks', async () => {
    const { ca, cb, missing, inline } = await twoStoredBlocks()
    const got = await store.blocks.getMany([cb, missing, inline, ca])
    expect(got.map(x => x === undefined ? undefined : new TextDecoder().decode(x))).toEqual(['bb', undefined, 'i', 'a'])
  })

  it('hasMany answers in the order of the request, identity CIDs always present', async () => {
    const { ca, cb, missing, inline } = await twoStoredBlocks()
    expect(await store.blocks.hasMany([cb, missing, inline, ca, missing])).toEqual([true, false, true, true, false])
    expect(await store.blocks.hasMany([])).toEqual([])
  })

  it('refuses a block that does not hash to its CID and writes nothing', async () => {
    const cid = await sha256Cid(RAW, enc('the real content'))
    expect(await codeOf(store.blocks.put(cid, enc('other content')))).toBe(StoreErrorCode.BLOCK_INVALID)
    expect(await store.blocks.has(cid)).toBe(false)
  })

  it('refuses CIDs with an unsupported codec or hash', async () => {
    const bytes = enc('{}')
    const dagJson = await sha256Cid(0x0129, bytes)
    const sha2512 = CID.createV1(RAW, await sha512.digest(bytes))
    expect(await codeOf(store.blocks.put(dagJson, bytes))).toBe(StoreErrorCode.UNSUPPORTED_CID)
    expect(await codeOf(store.blocks.put(sha2512, bytes))).toBe(StoreErrorCode.UNSUPPORTED_CID)
    expect(await codeOf(store.blocks.get(sha2512))).toBe(StoreErrorCode.UNSUPPORTED_CID)
  })

  it('detects a block corrupted on disk (STORE_BLOCK_CORRUPT) through get, getMany, entries and the blockstore view', async () => {
    const good = enc('x'.repeat(1000))
    const goodCid = await sha256Cid(RAW, good)
    const victim = dagCborCid({ list: [1, 2, 3], name: 'victim' })
    await store.blocks.put(goodCid, good)
    await store.blocks.put(victim.cid, victim.bytes)
    await store.stop()
    await withRawLevel(store, async db => {
      const k = Uint8Array.from([Bucket.blocks, ...victim.cid.bytes])
      const stored = await db.get(k)
      expect(equalBytes(stored, victim.bytes)).toBe(true)
      const bad = Uint8Array.from(stored)
      bad[bad.length - 1] ^= 0x01
      await db.put(k, bad)
    })
    await store.start()
    expect(await codeOf(store.blocks.get(victim.cid))).toBe(StoreErrorCode.BLOCK_CORRUPT)
    expect(await codeOf(store.blocks.getMany([goodCid, victim.cid]))).toBe(StoreErrorCode.BLOCK_CORRUPT)
    expect(await codeOf(all(store.blocks.entries()))).toBe(StoreErrorCode.BLOCK_CORRUPT)
    expect(await codeOf(all(store.asBlockstore().get(victim.cid)))).toBe(StoreErrorCode.BLOCK_CORRUPT)
    expect(equalBytes(await store.blocks.get(goodCid) as Uint8Array, good)).toBe(true)
  })

  it('offers the interface-blockstore shape: put returns the CID, get yields bytes, and the many/all/delete forms', async () => {
    const bs = store.asBlockstore()
    const blocks = await Promise.all(['one', 'two', 'three'].map(async s => ({ cid: await sha256Cid(RAW, enc(s)), bytes: enc(s) })))
    expect(await bs.put(blocks[0].cid, blocks[0].bytes)).toBe(blocks[0].cid)
    const putMany = await all(bs.putMany([{ cid: blocks[1].cid, bytes: [enc('t'), enc('wo')] }, { cid: blocks[2].cid, bytes: blocks[2].bytes }]))
    expect(putMany.map(c => c.toString())).toEqual([blocks[1].cid.toString(), blocks[2].cid.toString()])
    const chunks = await all(bs.get(blocks[1].cid))
    expect(new TextDecoder().decode(chunks[0])).toBe('two')
    const many = await all(bs.getMany(blocks.map(b => b.cid)))
    expect(many.map(p => new TextDecoder().decode([...p.bytes as Generator<Uint8Array>][0]))).toEqual(['one', 'two', 'three'])
    const everything = await all(bs.getAll())
    expect(everything.map(p => p.cid.toString()).sort()).toEqual(blocks.map(b => b.cid.toString()).sort())
    expect(await bs.has(blocks[0].cid)).toBe(true)
    await bs.delete(blocks[0].cid)
    expect(await bs.has(blocks[0].cid)).toBe(false)
    expect(await codeOf(all(bs.get(blocks[0].cid)))).toBe(StoreErrorCode.BLOCK_NOT_FOUND)
    expect((await all(bs.deleteMany([blocks[1].cid]))).length).toBe(1)
    expect(await store.blocks.has(blocks[1].cid)).toBe(false)
    const aborted = new AbortController()
    aborted.abort()
    expect(await bs.has(blocks[2].cid, { signal: aborted.signal }).then(() => 'resolved', (e: Error) => e.name)).toBe('AbortError')
  })

  it('keeps blocks across a restart', async () => {
    const bytes = enc('durable')
    const cid = await sha256Cid(RAW, bytes)
    await store.blocks.put(cid, bytes, { sync: true })
    await store.stop()
    await store.start()
    expect(equalBytes(await store.blocks.get(cid) as Uint8Array, bytes)).toBe(true)
  })
})
