import { randomBytes } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { catFile, importFile, type Store } from '../../../src/store/index.js'
import { fetchDag, type FetchBlock } from '../../../src/resources/dag-fetch.js'
import { ResourceErrorCode } from '../../../src/resources/index.js'
import { createTestStore, DAG_PB, equalBytes } from '../../utils/store.js'

const KiB = 1024

/** Every block of a file by CID string, with its depth in the tree (the root is 0). */
async function tree (store: Store, root: CID): Promise<Map<string, number>> {
  const depths = new Map<string, number>()
  const walk = async (cid: CID, depth: number): Promise<void> => {
    depths.set(cid.toString(), depth)
    if (cid.code !== DAG_PB) return
    for (const link of dagPb.decode((await store.blocks.get(cid))!).Links) await walk(link.Hash, depth + 1)
  }
  await walk(root, 0)
  return depths
}

describe('resources: fetching a file\'s DAG', () => {
  let remote: { store: Store, close: () => Promise<void> }
  let local: { store: Store, close: () => Promise<void> }
  beforeEach(async () => { remote = await createTestStore(); local = await createTestStore() })
  afterEach(async () => { await remote.close(); await local.close() })

  /** Fetches from the remote store into the local one, recording each call; `delayMs` keeps blocks in flight. */
  function source (opts: { delayMs?: number, fail?: (cid: CID) => boolean } = {}): { fetch: FetchBlock, started: string[], maxInFlight: () => number, abortedAfterFailure: () => number } {
    const started: string[] = []
    let inFlight = 0
    let max = 0
    let failed = false
    let aborted = 0
    const fetch: FetchBlock = async (cid, signal) => {
      started.push(cid.toString())
      inFlight++
      max = Math.max(max, inFlight)
      try {
        await new Promise(resolve => setTimeout(resolve, opts.delayMs ?? 0))
        if (opts.fail?.(cid) === true) {
          failed = true
          throw new Error(`no source has ${cid.toString()}`)
        }
        if (failed && signal.aborted) aborted++
        const bytes = (await remote.store.blocks.get(cid))!
        await local.store.blocks.put(cid, bytes)
        return bytes
      } finally {
        inFlight--
      }
    }
    return { fetch, started, maxInFlight: () => max, abortedAfterFailure: () => aborted }
  }

  it('walks the tree once, level by level, fetching each missing block once, and the file then reads locally', async () => {
    const data = new Uint8Array(randomBytes(40 * KiB + 3))
    const root = await importFile(remote.store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 4 })
    const depths = await tree(remote.store, root)
    expect(Math.max(...depths.values())).toBe(3)
    const s = source()
    const result = await fetchDag(root, local.store.blocks, s.fetch, { window: 1, maxBlocks: 1000 })
    expect(result).toEqual({ blocks: depths.size, fetched: depths.size, fetchedBytes: expect.any(Number) })
    expect(new Set(s.started).size).toBe(s.started.length)
    // one at a time, breadth first: the depth of the blocks asked for never goes down
    const asked = s.started.map(c => depths.get(c)!)
    expect(asked).toEqual([...asked].sort((a, b) => a - b))
    expect(equalBytes(await catFile(local.store.blocks, root), data)).toBe(true)
  })

  it('keeps up to `window` blocks in flight, never more', async () => {
    const data = new Uint8Array(randomBytes(64 * KiB))
    const root = await importFile(remote.store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 32 })
    const s = source({ delayMs: 5 })
    await fetchDag(root, local.store.blocks, s.fetch, { window: 8, maxBlocks: 1000 })
    expect(s.maxInFlight()).toBe(8)
    expect(equalBytes(await catFile(local.store.blocks, root), data)).toBe(true)
  })

  it('fetches only what the store lacks, and a block the file repeats once', async () => {
    const zeros = new Uint8Array(20 * KiB) // every leaf is the same block
    const root = await importFile(remote.store.blocks, zeros, { chunkSizeBytes: KiB, maxChildrenPerNode: 4 })
    const s = source()
    const result = await fetchDag(root, local.store.blocks, s.fetch, { window: 4, maxBlocks: 1000 })
    expect(s.started.filter(c => CID.parse(c).code !== DAG_PB)).toHaveLength(1)
    expect(result.fetched).toBe(s.started.length)
    expect(equalBytes(await catFile(local.store.blocks, root), zeros)).toBe(true)

    const data = new Uint8Array(randomBytes(12 * KiB))
    const other = await importFile(remote.store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 4 })
    await importFile(local.store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 4 })
    const leaves = [...(await tree(local.store, other)).keys()].filter(c => CID.parse(c).code !== DAG_PB)
    await local.store.blocks.delete(CID.parse(leaves[2]))
    await local.store.blocks.delete(CID.parse(leaves[7]))
    const again = source()
    expect((await fetchDag(other, local.store.blocks, again.fetch, { window: 4, maxBlocks: 1000 })).fetched).toBe(2)
    expect(again.started.sort()).toEqual([leaves[2], leaves[7]].sort())
  })

  it('stops at the first block no source has: its error is thrown and the fetches in flight are aborted', async () => {
    const data = new Uint8Array(randomBytes(40 * KiB))
    const root = await importFile(remote.store.blocks, data, { chunkSizeBytes: KiB, maxChildrenPerNode: 8 })
    const depths = await tree(remote.store, root)
    const victim = [...depths].find(([, d]) => d === 2)![0]
    const s = source({ delayMs: 2, fail: cid => cid.toString() === victim })
    await expect(fetchDag(root, local.store.blocks, s.fetch, { window: 8, maxBlocks: 1000 })).rejects.toThrow(`no source has ${victim}`)
    const startedAtFailure = s.started.length
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(s.started.length).toBe(startedAtFailure)
    expect(s.abortedAfterFailure()).toBeGreaterThan(0)
  })

  it('refuses a file of more blocks than allowed (RESOURCE_TOO_LARGE) before fetching them', async () => {
    const root = await importFile(remote.store.blocks, new Uint8Array(randomBytes(40 * KiB)), { chunkSizeBytes: KiB, maxChildrenPerNode: 8 })
    const s = source()
    await expect(fetchDag(root, local.store.blocks, s.fetch, { window: 4, maxBlocks: 10 })).rejects.toMatchObject({ code: ResourceErrorCode.TOO_LARGE })
    expect(s.started.length).toBeLessThanOrEqual(10)
  })

  it('takes an abort signal', async () => {
    const root = await importFile(remote.store.blocks, new Uint8Array(randomBytes(40 * KiB)), { chunkSizeBytes: KiB, maxChildrenPerNode: 8 })
    const controller = new AbortController()
    const s = source({ delayMs: 5 })
    const fetching = fetchDag(root, local.store.blocks, async (cid, signal) => {
      if (s.started.length === 3) controller.abort(new Error('stop'))
      return await s.fetch(cid, signal)
    }, { window: 2, maxBlocks: 1000, signal: controller.signal })
    await expect(fetching).rejects.toThrow()
    expect(s.started.length).toBeLessThan(10)
  })
})
