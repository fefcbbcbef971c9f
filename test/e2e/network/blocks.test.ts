import * as dagCbor from '@ipld/dag-cbor'
import type { Libp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { BITSWAP_PROTOCOLS, NetworkErrorCode } from '../../../src/network/index.js'
import { ResourceErrorCode } from '../../../src/resources/index.js'
import type { Store } from '../../../src/store/index.js'
import { closeBlockPeers, fileStore, startFetcher, startHolder } from '../../utils/blocks.js'
import { barePeer, stopRawPeers } from '../../utils/raw-peer.js'
import { readLengthPrefixed, writeAndClose } from '../../../src/network/wire/framing.js'
import { cidPrefix } from '../../../src/network/bitswap/hashing.js'
import { decodeMessage, emptyMessage, encodeMessage, WantType, type BitswapMessage } from '../../../src/network/bitswap/message.js'
import { sha3, startNode, stopAll, waitUntil, type TestNode } from './helpers.js'

afterEach(async () => {
  await stopAll()
  await stopRawPeers()
  await closeBlockPeers()
})

async function rawBlock (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

async function connect (from: TestNode, to: TestNode): Promise<void> {
  await waitUntil(() => to.network.peerId in from.network.connections(), 5000, 'connection')
}

/** A peer that answers every bitswap want with the right CID prefix and the wrong bytes. */
async function lyingPeer (): Promise<{ node: Libp2p, replies: () => number }> {
  let replies = 0
  const node = await barePeer()
  await node.handle(BITSWAP_PROTOCOLS, async (stream, connection) => {
    for await (const bytes of readLengthPrefixed(stream, 1 << 22)) {
      const request = decodeMessage(bytes)
      const reply = emptyMessage()
      for (const entry of request.wantlist.entries) {
        if (!entry.cancel) reply.payload.push({ prefix: cidPrefix(CID.decode(entry.cid)), data: new TextEncoder().encode('forged block') })
      }
      if (reply.payload.length === 0) continue
      const out = await node.dialProtocol(connection.remotePeer, BITSWAP_PROTOCOLS)
      await writeAndClose(out, encodeMessage(reply))
      replies++
    }
  })
  return { node, replies: () => replies }
}

describe('network: block exchange (bitswap)', () => {
  it('fetches a block that only A has, verifies and keeps it, and then serves it on', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    const block = await rawBlock('hello from A')
    const cbor = dagCbor.encode({ hello: 'world' })
    const cborCid = CID.createV1(dagCbor.code, await sha3.digest(cbor))
    await a.blocks.put(block.cid, block.bytes)
    await a.blocks.put(cborCid, cbor)
    await connect(b, a)

    expect(await b.network.getBlock(block.cid, { timeoutMs: 5000 })).toEqual(block.bytes)
    expect(await b.network.getBlock(cborCid, { timeoutMs: 5000 })).toEqual(cbor)
    expect(await b.blocks.get(block.cid)).toEqual(block.bytes)
    expect(cborCid.toString()).toBe('bafyrmidyqnbqbeh5lmkwavjizfmsz6ezwvjleweh5frwk56akfyugoio2e')

    // C knows only B, which now has the block.
    const c = await startNode({ peers: [b.network.multiaddrs()[0]] })
    await connect(c, b)
    expect(await c.network.getBlock(block.cid, { timeoutMs: 5000 })).toEqual(block.bytes)
  })

  it('answers concurrent fetches of one block with one want', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    const block = await rawBlock('shared want')
    await a.blocks.put(block.cid, block.bytes)
    await connect(b, a)
    const [one, two] = await Promise.all([b.network.getBlock(block.cid, { timeoutMs: 5000 }), b.network.getBlock(block.cid, { timeoutMs: 5000 })])
    expect(one).toEqual(block.bytes)
    expect(two).toEqual(block.bytes)
  })

  it('fails fast with BLOCK_NOT_FOUND when every peer says it does not have the block', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    await connect(b, a)
    const missing = await rawBlock('nobody has this')
    // the answer comes from the peers' "don't have", long before the timeout (the test's limit is 30 s)
    await expect(b.network.getBlock(missing.cid, { timeoutMs: 120_000 })).rejects.toMatchObject({ code: NetworkErrorCode.BLOCK_NOT_FOUND })
  })

  it('reports NO_PEERS, ABORTED and UNSUPPORTED_HASH', async () => {
    const lonely = await startNode()
    const block = await rawBlock('alone')
    await expect(lonely.network.getBlock(block.cid, { timeoutMs: 100 })).rejects.toMatchObject({ code: NetworkErrorCode.NO_PEERS })
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 50)
    await expect(lonely.network.getBlock(block.cid, { timeoutMs: 5000, signal: controller.signal })).rejects.toMatchObject({ code: NetworkErrorCode.ABORTED })
    const blake = CID.createV1(raw.code, Digest.create(0xb220, new Uint8Array(32)))
    await expect(lonely.network.getBlock(blake)).rejects.toMatchObject({ code: NetworkErrorCode.UNSUPPORTED_HASH })
  })

  it('never returns bytes whose hash does not match, and takes the honest peer\'s block', async () => {
    const { node: liar, replies } = await lyingPeer()
    const withLiar = await startNode({ peers: [liar.getMultiaddrs()[0].toString()] })
    await waitUntil(() => liar.peerId.toString() in withLiar.network.connections(), 5000, 'connection to the liar')
    const block = await rawBlock('the real bytes')
    await expect(withLiar.network.getBlock(block.cid, { timeoutMs: 500 })).rejects.toMatchObject({ code: NetworkErrorCode.BLOCK_TIMEOUT })
    expect(replies()).toBeGreaterThan(0)
    expect(await withLiar.blocks.has(block.cid)).toBe(false)

    const honest = await startNode()
    await honest.blocks.put(block.cid, block.bytes)
    const both = await startNode({ peers: [liar.getMultiaddrs()[0].toString(), honest.network.multiaddrs()[0]] })
    await waitUntil(() => liar.peerId.toString() in both.network.connections() && honest.network.peerId in both.network.connections(), 5000, 'both connections')
    expect(await both.network.getBlock(block.cid, { timeoutMs: 5000 })).toEqual(block.bytes)
  })

  it('a file\'s blocks are asked of its holder in a few messages of many wants, each block once', async () => {
    const file = await fileStore(new Uint8Array(randomBytes(640 * 1024)), 16 * 1024)
    const { node: holder, messages } = await recordingHolder(file.store)
    const fetcher = await startFetcher({ peers: [holder.getMultiaddrs()[0].toString()] })
    await waitUntil(() => holder.peerId.toString() in fetcher.network.connections(), 5000, 'connection')

    expect(Buffer.from(await fetcher.resolver.fetch(`ipfs://${file.root.toString()}`)).equals(Buffer.from(file.data))).toBe(true)
    const wanted = messages.flatMap(m => m.wantlist.entries.filter(e => !e.cancel && e.wantType === WantType.BLOCK).map(e => CID.decode(e.cid).toString()))
    expect(wanted.length).toBe(file.blocks)
    expect(new Set(wanted).size).toBe(file.blocks)
    const withWants = messages.filter(m => m.wantlist.entries.some(e => !e.cancel))
    // the root first, then its 40 leaves: as many messages as turns of the loop, not one per block
    expect(withWants.length).toBeLessThan(file.blocks / 4)
    expect(Math.max(...withWants.map(m => m.wantlist.entries.length))).toBeGreaterThanOrEqual(10)
    expect(withWants.every(m => m.wantlist.entries.every(e => e.sendDontHave))).toBe(true)
  })

  it('with two holders each block is sent once, by one of them', async () => {
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024))
    const holders = await Promise.all([startHolder(data, 64 * 1024), startHolder(data, 64 * 1024)])
    const fetcher = await startFetcher({ peers: holders.map(h => h.network.multiaddrs()[0]) })
    await waitUntil(() => holders.every(h => h.network.peerId in fetcher.network.connections()), 5000, 'connections')

    const bytes = await fetcher.resolver.fetch(`ipfs://${holders[0].root.toString()}`)
    expect(Buffer.from(bytes).equals(Buffer.from(data))).toBe(true)
    const blocks = holders[0].blockCount
    const sent = new Map<string, number>()
    for (const h of holders) for (const [cid, n] of h.served) sent.set(cid, (sent.get(cid) ?? 0) + n)
    expect(sent.size).toBe(blocks)
    expect([...sent.values()].every(n => n === 1)).toBe(true)
  })

  it('a holder that goes away mid-fetch fails the fetch at once, naming the block and what the peer did', async () => {
    // the fetcher would wait a minute for a block from a peer that is merely silent: the test
    // passing in its 30 s proves the disconnection itself was noticed
    const holder = await startHolder(new Uint8Array(randomBytes(2 * 1024 * 1024)), 64 * 1024, { stopAfterServing: 5 })
    const fetcher = await startFetcher({ peers: [holder.network.multiaddrs()[0]], blockTimeoutMs: 60_000, blockPeerTimeoutMs: 60_000, redialInitialDelayMs: 60_000 })
    await waitUntil(() => holder.network.peerId in fetcher.network.connections(), 5000, 'connection')

    const err = await fetcher.resolver.fetch(`ipfs://${holder.root.toString()}`).then(() => undefined, (e: unknown) => e as { code: string, message: string, data: Record<string, string> })
    expect(err).toMatchObject({ code: ResourceErrorCode.UNAVAILABLE, data: { cid: holder.root.toString(), block: expect.any(String) } })
    expect(err?.message).toContain(`block ${err?.data.block}`)
    expect(err?.message).toContain(`${holder.network.peerId}: disconnected`)
    expect(holder.served.size).toBeGreaterThanOrEqual(5)
    expect(holder.served.size).toBeLessThan(holder.blockCount)
  })
})

/** A bare bitswap peer that serves blocks from `store` and records every message it receives. */
async function recordingHolder (store: Store): Promise<{ node: Libp2p, messages: BitswapMessage[] }> {
  const messages: BitswapMessage[] = []
  const node = await barePeer()
  await node.handle(BITSWAP_PROTOCOLS, async (stream, connection) => {
    for await (const bytes of readLengthPrefixed(stream, 1 << 22)) {
      const request = decodeMessage(bytes)
      messages.push(request)
      const reply = emptyMessage()
      for (const entry of request.wantlist.entries) {
        if (entry.cancel) continue
        const cid = CID.decode(entry.cid)
        const data = await store.blocks.get(cid)
        if (data !== undefined) reply.payload.push({ prefix: cidPrefix(cid), data })
      }
      if (reply.payload.length === 0) continue
      const out = await node.dialProtocol(connection.remotePeer, BITSWAP_PROTOCOLS)
      await writeAndClose(out, encodeMessage(reply))
    }
  })
  return { node, messages }
}
