import { randomBytes } from 'node:crypto'
import { exporter } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Bucket, catFile, catStream, importFile, type Store, StoreErrorCode } from '../../../src/store/index.js'
import { asStream, codeOf, createTestStore, DAG_PB, dagCborCid, deterministicBytes, equalBytes, RAW, sha256Cid, withRawLevel } from '../../utils/store.js'

const KiB = 1024
const MiB = 1024 * KiB
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

function pieces (bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  return asStream(Array.from({ length: Math.ceil(bytes.length / size) }, (_, k) => bytes.subarray(k * size, (k + 1) * size)))
}

async function rootLinks (store: Store, cid: CID): Promise<Array<{ cid: CID, size: number }>> {
  const entry = await exporter(cid, store.asBlockstore())
  if (entry.type !== 'file') throw new Error(`expected a dag-pb file, got ${entry.type}`)
  return entry.node.Links.map(l => ({ cid: l.Hash, size: l.Tsize ?? -1 }))
}

describe('UnixFS import and cat', () => {
  let store: Store
  let close: () => Promise<void>
  beforeEach(async () => { ({ store, close } = await createTestStore()) })
  afterEach(async () => { await close() })

  it('gives the CIDs `ipfs add --cid-version 1` gives for small files (raw leaf)', async () => {
    // Values printed by Kubo: the empty file, `echo hello | ipfs add --cid-version 1`
    // (Kubo's gateway fixtures) and "hello world" (Kubo's CID profile tests).
    expect((await importFile(store.blocks, new Uint8Array(0))).toString()).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    expect((await importFile(store.blocks, enc('hello\n'))).toString()).toBe('bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am')
    expect((await importFile(store.blocks, enc('hello world'))).toString()).toBe('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
    expect(new TextDecoder().decode(await catFile(store.blocks, (await importFile(store.blocks, enc('hello\n')))))).toBe('hello\n')
  })

  it('builds the dag-pb root exactly as Kubo does for CIDv1 raw-leaf files (Kubo vectors, 1 MiB chunks)', async () => {
    // Kubo's unixfs-v1-2025 profile is `--cid-version 1` with 1 MiB chunks and 1024 links;
    // only the chunk size and fan-out differ from our defaults, so these vectors check the
    // leaf and root construction. Data: Kubo's deterministic ChaCha20 stream, seed "chunk-v1-seed".
    const opts = { chunkSizeBytes: MiB, maxChildrenPerNode: 1024 }
    const exact = deterministicBytes(MiB, 'chunk-v1-seed')
    expect((await importFile(store.blocks, exact, opts)).toString()).toBe('bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta')
    const over = deterministicBytes(MiB + 1, 'chunk-v1-seed')
    const cid = await importFile(store.blocks, over, opts)
    expect(cid.toString()).toBe('bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64')
    expect(equalBytes(await catFile(store.blocks, cid), over)).toBe(true)
  })

  it.each([
    ['0 B', 0],
    ['1 B', 1],
    ['exactly 256 KiB', 256 * KiB],
    ['256 KiB + 1', 256 * KiB + 1],
    ['about 3 MiB', 3 * MiB + 12_345]
  ])('round-trips %s byte for byte', async (_name, size) => {
    const data = new Uint8Array(randomBytes(size))
    const cid = await importFile(store.blocks, data)
    expect(cid.version).toBe(1)
    expect(cid.multihash.code).toBe(0x12)
    if (size <= 256 * KiB) {
      expect(cid.code).toBe(RAW)
      expect(cid.toString().startsWith('bafkrei')).toBe(true)
      expect(cid.equals(await sha256Cid(RAW, data))).toBe(true)
    } else {
      expect(cid.code).toBe(DAG_PB)
      expect(cid.toString().startsWith('bafybei')).toBe(true)
    }
    expect(equalBytes(await catFile(store.blocks, cid), data)).toBe(true)
    // streamed input in odd-sized pieces gives the same CID
    expect((await importFile(store.blocks, pieces(data, 100_003))).equals(cid)).toBe(true)
  })

  it('splits into 256 KiB raw leaves under one balanced dag-pb root', async () => {
    const data = new Uint8Array(randomBytes(3 * MiB + 12_345))
    const cid = await importFile(store.blocks, data)
    const links = await rootLinks(store, cid)
    expect(links.length).toBe(13)
    for (let i = 0; i < links.length; i++) {
      const chunk = data.subarray(i * 256 * KiB, (i + 1) * 256 * KiB)
      expect(links[i].cid.equals(await sha256Cid(RAW, chunk))).toBe(true)
      expect(links[i].size).toBe(chunk.length)
    }
  })

  it('builds a deeper balanced tree when a node would exceed its link limit', async () => {
    const data = new Uint8Array(randomBytes(20 * KiB + 7))
    const cid = await importFile(store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 4 })
    const top = await rootLinks(store, cid)
    expect(top.length).toBe(2) // 21 leaves → 6 nodes of ≤4 → 2 nodes of ≤4 → root
    expect(top.every(l => l.cid.code === DAG_PB)).toBe(true)
    expect(equalBytes(await catFile(store.blocks, cid), data)).toBe(true)
  })

  it('reads a byte range', async () => {
    const data = new Uint8Array(randomBytes(600 * KiB))
    const cid = await importFile(store.blocks, data)
    const part = await catFile(store.blocks, cid, { offset: 250 * KiB, length: 20 * KiB })
    expect(equalBytes(part, data.subarray(250 * KiB, 270 * KiB))).toBe(true)
  })

  it('detects a corrupted leaf (STORE_BLOCK_CORRUPT) and never returns its bytes', async () => {
    const data = new Uint8Array(randomBytes(MiB + 5))
    const cid = await importFile(store.blocks, data)
    const victim = (await rootLinks(store, cid))[2].cid
    await store.stop()
    await withRawLevel(store, async db => {
      const k = Uint8Array.from([Bucket.blocks, ...victim.bytes])
      const bad = Uint8Array.from(await db.get(k))
      bad[1000] ^= 0xff
      await db.put(k, bad)
    })
    await store.start()
    expect(await codeOf(catFile(store.blocks, cid))).toBe(StoreErrorCode.BLOCK_CORRUPT)
    const received: Uint8Array[] = []
    const streamed = (async () => { for await (const p of catStream(store.blocks, cid)) received.push(p) })()
    expect(await codeOf(streamed)).toBe(StoreErrorCode.BLOCK_CORRUPT)
    const total = received.reduce((n, p) => n + p.length, 0)
    expect(total).toBeLessThanOrEqual(2 * 256 * KiB) // only the leaves before the corrupt one
    expect(equalBytes(Buffer.concat(received), data.subarray(0, total))).toBe(true)
    // the leaves before it are still readable
    expect(equalBytes(await catFile(store.blocks, cid, { length: 256 * KiB }), data.subarray(0, 256 * KiB))).toBe(true)
  })

  it('reports a missing leaf as STORE_BLOCK_NOT_FOUND and a non-file as STORE_NOT_A_FILE', async () => {
    const data = new Uint8Array(randomBytes(600 * KiB))
    const cid = await importFile(store.blocks, data)
    await store.blocks.delete((await rootLinks(store, cid))[1].cid)
    expect(await codeOf(catFile(store.blocks, cid))).toBe(StoreErrorCode.BLOCK_NOT_FOUND)
    const obj = dagCborCid({ not: 'a file' })
    await store.blocks.put(obj.cid, obj.bytes)
    expect(await codeOf(catFile(store.blocks, obj.cid))).toBe(StoreErrorCode.NOT_A_FILE)
    expect(await codeOf(catFile(store.blocks, await sha256Cid(RAW, enc('absent'))))).toBe(StoreErrorCode.BLOCK_NOT_FOUND)
  })

  it('reports a malformed dag-pb file as STORE_UNIXFS_INVALID', async () => {
    // a dag-pb node without UnixFS data: PBNode { Links: [] } encodes to zero bytes
    const empty = new Uint8Array(0)
    const cid = await sha256Cid(DAG_PB, empty)
    await store.blocks.put(cid, empty)
    expect(await codeOf(catFile(store.blocks, cid))).toBe(StoreErrorCode.UNIXFS_INVALID)
  })

  describe('a file two levels deep (21 leaves of 1 KiB, 4 links a node)', () => {
    const data = new Uint8Array(randomBytes(20 * KiB + 7))
    let cid: CID
    /** The leaves in file order, found through the intermediate nodes. */
    let leaves: CID[]
    beforeEach(async () => {
      cid = await importFile(store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 4 })
      leaves = []
      const walk = async (node: CID): Promise<void> => {
        if (node.code === RAW) { leaves.push(node); return }
        for (const link of await rootLinks(store, node)) await walk(link.cid)
      }
      await walk(cid)
      expect(leaves.length).toBe(21)
    })

    /** Runs `fn` and returns the unhandled rejections seen until shortly after it settled. */
    async function unhandledDuring (fn: () => Promise<unknown>): Promise<unknown[]> {
      const seen: unknown[] = []
      const listener = (reason: unknown): void => { seen.push(reason) }
      process.on('unhandledRejection', listener)
      try {
        await fn()
        await new Promise(resolve => setTimeout(resolve, 50))
      } finally {
        process.off('unhandledRejection', listener)
      }
      return seen
    }

    it('a missing leaf fails the read with STORE_BLOCK_NOT_FOUND and nothing else (no unhandled rejection)', async () => {
      await store.blocks.delete(leaves[13])
      const unhandled = await unhandledDuring(async () => {
        expect(await codeOf(catFile(store.blocks, cid))).toBe(StoreErrorCode.BLOCK_NOT_FOUND)
      })
      expect(unhandled).toEqual([])
      // what lies before the missing leaf still reads
      expect(equalBytes(await catFile(store.blocks, cid, { length: 13 * KiB }), data.subarray(0, 13 * KiB))).toBe(true)
    })

    it('a corrupt leaf fails the read with STORE_BLOCK_CORRUPT, with no unhandled rejection', async () => {
      const victim = leaves[9]
      await store.stop()
      await withRawLevel(store, async db => {
        const k = Uint8Array.from([Bucket.blocks, ...victim.bytes])
        const bad = Uint8Array.from(await db.get(k))
        bad[10] ^= 0xff
        await db.put(k, bad)
      })
      await store.start()
      const unhandled = await unhandledDuring(async () => {
        expect(await codeOf(catFile(store.blocks, cid))).toBe(StoreErrorCode.BLOCK_CORRUPT)
      })
      expect(unhandled).toEqual([])
    })

    it('reads any byte range, across nodes', async () => {
      const size = data.length
      const ranges: Array<[number, number | undefined]> = [[0, undefined], [0, 1], [KiB - 1, 2], [3 * KiB, 5 * KiB], [4 * KiB + 3, 9 * KiB], [size - 1, 1], [size, 0], [17 * KiB, 100 * KiB], [5, undefined]]
      for (const [offset, length] of ranges) {
        const expected = data.subarray(offset, length === undefined ? size : offset + length)
        const got = await catFile(store.blocks, cid, { offset, ...(length !== undefined ? { length } : {}) })
        expect(equalBytes(got, expected), `offset ${offset}, length ${length}`).toBe(true)
      }
      expect(await codeOf(catFile(store.blocks, cid, { offset: size + 1 }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
      expect(await codeOf(catFile(store.blocks, cid, { length: -1 }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    })
  })
})
