import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { BlockPresenceType, WantType, type BitswapMessage, type WantlistEntry } from '../../../src/network/bitswap/message.js'
import { BlockServer, MAX_QUEUED_WANTS_PER_PEER, REPLY_BATCH_BYTES } from '../../../src/network/bitswap/serve.js'
import { silentLogger } from '../../../src/util/logger.js'
import { waitUntil } from '../../utils/wait.js'
import { MemoryBlocks } from '../../e2e/network/helpers.js'

async function block (fill: number, size = 100): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new Uint8Array(size).fill(fill)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

function want (cid: CID, wantType: number = WantType.BLOCK, cancel = false): WantlistEntry {
  return { cid: cid.bytes, priority: 1, cancel, wantType, sendDontHave: true }
}

/** Blocks whose reads wait until `open()` is called. */
class GatedBlocks extends MemoryBlocks {
  private gate = Promise.resolve()
  private release = (): void => {}
  close (): void { this.gate = new Promise(resolve => { this.release = resolve }) }
  open (): void { this.release() }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    await this.gate
    return await super.get(cid)
  }
}

async function server (blocks: MemoryBlocks): Promise<{ server: BlockServer, peer: PeerId, sent: BitswapMessage[] }> {
  const sent: BitswapMessage[] = []
  const s = new BlockServer({ blocks, logger: silentLogger(), keyOf: cid => cid.toString(), send: async (_peer, message) => { sent.push(message); await Promise.resolve() } })
  return { server: s, peer: peerIdFromPrivateKey(await generateKeyPair('Ed25519')), sent }
}

const cidsOf = (messages: BitswapMessage[]): string[][] => messages.map(m => m.payload.map(p => p.data[0].toString()))

describe('network: serving bitswap wants', () => {
  it('answers blocks, HAVE and DONT_HAVE in the order asked', async () => {
    const blocks = new MemoryBlocks()
    const [a, b, missing] = await Promise.all([block(1), block(2), block(3)])
    await blocks.put(a.cid, a.bytes)
    await blocks.put(b.cid, b.bytes)
    const { server: s, peer, sent } = await server(blocks)
    s.onWantlist(peer, { full: false, entries: [want(a.cid), want(missing.cid), want(b.cid, WantType.HAVE)] })
    await waitUntil(() => sent.length === 1, 2000, 'a reply')
    expect(sent[0].payload.map(p => p.data)).toEqual([a.bytes])
    expect(sent[0].blockPresences).toEqual([
      { cid: missing.cid.bytes, type: BlockPresenceType.DONT_HAVE },
      { cid: b.cid.bytes, type: BlockPresenceType.HAVE }
    ])
  })

  it('a cancel takes a queued want out; a full wantlist replaces the queue', async () => {
    const blocks = new GatedBlocks()
    const all = await Promise.all([1, 2, 3, 4, 5].map(async n => await block(n)))
    for (const x of all) await blocks.put(x.cid, x.bytes)
    const { server: s, peer, sent } = await server(blocks)
    blocks.close()
    s.onWantlist(peer, { full: false, entries: [want(all[0].cid)] }) // being read while the rest come
    s.onWantlist(peer, { full: false, entries: [want(all[1].cid), want(all[2].cid)] })
    s.onWantlist(peer, { full: false, entries: [want(all[1].cid, WantType.BLOCK, true)] })
    blocks.open()
    await waitUntil(() => sent.flatMap(m => m.payload).length === 2, 2000, 'two blocks')
    expect(cidsOf(sent).flat()).toEqual(['1', '3'])

    sent.length = 0
    blocks.close()
    s.onWantlist(peer, { full: false, entries: [want(all[0].cid)] })
    s.onWantlist(peer, { full: false, entries: [want(all[1].cid), want(all[2].cid)] })
    s.onWantlist(peer, { full: true, entries: [want(all[4].cid)] })
    blocks.open()
    await waitUntil(() => sent.flatMap(m => m.payload).length === 2, 2000, 'two blocks')
    expect(cidsOf(sent).flat()).toEqual(['1', '5'])
  })

  it('cuts replies at about 2 MiB and queues at most 1024 wants a peer', async () => {
    const blocks = new MemoryBlocks()
    const big = await Promise.all([1, 2, 3, 4, 5].map(async n => await block(n, 1024 * 1024)))
    for (const x of big) await blocks.put(x.cid, x.bytes)
    const { server: s, peer, sent } = await server(blocks)
    s.onWantlist(peer, { full: false, entries: big.map(x => want(x.cid)) })
    await waitUntil(() => sent.flatMap(m => m.payload).length === 5, 2000, 'five blocks')
    expect(cidsOf(sent)).toEqual([['1', '2'], ['3', '4'], ['5']])
    expect(sent.every(m => m.payload.reduce((n, p) => n + p.data.length, 0) <= REPLY_BATCH_BYTES)).toBe(true)

    sent.length = 0
    const gated = new GatedBlocks()
    const { server: s2, peer: p2, sent: sent2 } = await server(gated)
    gated.close()
    const absent = await Promise.all(Array.from({ length: MAX_QUEUED_WANTS_PER_PEER + 100 }, async (_, i) => (await block(i % 256, 200 + Math.floor(i / 256))).cid))
    s2.onWantlist(p2, { full: false, entries: absent.map(cid => want(cid)) })
    gated.open()
    await waitUntil(() => sent2.flatMap(m => m.blockPresences).length === MAX_QUEUED_WANTS_PER_PEER, 5000, 'the queued answers')
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(sent2.flatMap(m => m.blockPresences).length).toBe(MAX_QUEUED_WANTS_PER_PEER)
  })
})
