import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { afterEach, describe, expect, it } from 'vitest'
import { instructionFromRecordKey, NetworkErrorCode, receiptRecordKey } from '../../../src/network/index.js'
import { eventsOf, makeReceipt, schemaErrors, startNode, stopAll, waitForGossipPeers, waitUntil, type TestNode } from './helpers.js'

afterEach(stopAll)

async function connected (node: TestNode, ...peers: TestNode[]): Promise<void> {
  await waitUntil(() => peers.every((p) => p.network.peerId in node.network.connections()), 5000, 'connections')
}

/** Peers in a node's Kademlia routing table (kad-dht adds a connected peer only once it has checked it). */
function routingTableSize (node: TestNode): number {
  const libp2p = (node.network as unknown as { node?: { services: { dht: { routingTable: { size: number } } } } }).node
  return libp2p?.services.dht.routingTable.size ?? 0
}

describe('network: receipt records in the DHT', () => {
  it('keys records by the instruction CID bytes under /ipvm/receipt/', async () => {
    const { instruction } = await makeReceipt(1)
    const key = receiptRecordKey(instruction)
    expect(new TextDecoder().decode(key.subarray(0, 14))).toBe('/ipvm/receipt/')
    expect(key.subarray(14)).toEqual(instruction.bytes)
    expect(instructionFromRecordKey(key).equals(instruction)).toBe(true)
    expect(() => instructionFromRecordKey(instruction.bytes)).toThrow()
  })

  it('puts a receipt with quorum 2 on a 3-node network and C (knowing only B) finds it', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    const c = await startNode({ peers: [b.network.multiaddrs()[0]] })
    await connected(b, a, c)
    // Topic subscriptions are exchanged after identify, as DHT routing tables are filled: once B
    // sees both as subscribers, it can name C to A.
    await waitForGossipPeers([b], 2)
    await waitForGossipPeers([a, c])
    // A finds C through B's routing table: wait until B has taken both in (under load it takes a while)
    await waitUntil(() => routingTableSize(b) >= 2 && routingTableSize(a) >= 1, 10_000, 'routing tables')

    const receipt = await makeReceipt(5)
    const result = await a.network.publishReceipt({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, dhtBytes: receipt.dhtBytes })
    expect(result.gossiped).toBe(false)
    expect(result.dht?.quorumReached).toBe(true)
    expect(result.dht?.storedTo.sort()).toEqual([b.network.peerId, c.network.peerId].sort())
    expect(eventsOf(a, 'put_receipt_dht')).toEqual([expect.objectContaining({ cid: receipt.cid.toString(), ran: receipt.ran.toString() })])
    expect(eventsOf(a, 'receipt_quorum_success_dht')).toEqual([expect.objectContaining({ cid: receipt.instruction.toString(), quorum: 2 })])

    const found = await c.network.findReceipt(receipt.instruction, { timeoutMs: 5000 })
    expect(found).not.toBeNull()
    expect(found?.cid.equals(receipt.cid)).toBe(true)
    expect(found?.ran.equals(receipt.ran)).toBe(true)
    expect(found?.instruction.equals(receipt.instruction)).toBe(true)
    const stored = await c.exchange.waitFor((r) => r.cid.equals(receipt.cid))
    // an unsigned record is attributed to the peer that answered, as these nodes trust any peer
    expect(stored.vouchers.map(v => v.via)).toEqual(['dht'])
    const got = eventsOf(c, 'got_receipt_dht')
    expect(got).toEqual([expect.objectContaining({ cid: receipt.cid.toString(), ran: receipt.ran.toString() })])
    expect(got[0].publisher === null || typeof got[0].publisher === 'string').toBe(true)

    // D joins after the put and knows only B: the record must come from a peer.
    const d = await startNode({ peers: [b.network.multiaddrs()[0]] })
    await connected(d, b)
    await waitForGossipPeers([d])
    const remote = await d.network.findReceipt(receipt.instruction, { timeoutMs: 5000 })
    expect(remote?.cid.equals(receipt.cid)).toBe(true)
    expect([a.network.peerId, b.network.peerId, c.network.peerId]).toContain(remote?.publisher)
    expect(eventsOf(d, 'got_receipt_dht')).toEqual([expect.objectContaining({ cid: receipt.cid.toString(), publisher: remote?.publisher })])
    for (const node of [a, b, c, d]) expect(schemaErrors(node.events)).toEqual([])
  })

  it('reports a missed quorum as an event with the peers that stored it', async () => {
    const a = await startNode({ receiptQuorum: 2 })
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    await connected(a, b)
    const receipt = await makeReceipt(6)
    const result = await a.network.publishReceipt({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, dhtBytes: receipt.dhtBytes })
    expect(result.dht).toEqual({ quorumReached: false, storedTo: [b.network.peerId] })
    expect(eventsOf(a, 'receipt_quorum_failure_dht')).toEqual([{
      cid: receipt.instruction.toString(),
      connected_peer_count: 1,
      quorum: 2,
      stored_to_peers: [b.network.peerId],
      timestamp: expect.any(Number)
    }])
    // Quorum 0 means one peer, as Homestar's Quorum::One.
    const one = await startNode({ receiptQuorum: 0, peers: [a.network.multiaddrs()[0]] })
    await connected(one, a)
    const second = await makeReceipt(7)
    const ok = await one.network.publishReceipt({ cid: second.cid, ran: second.ran, instruction: second.instruction, dhtBytes: second.dhtBytes })
    expect(ok.dht?.quorumReached).toBe(true)
    expect(eventsOf(one, 'receipt_quorum_success_dht')).toEqual([expect.objectContaining({ quorum: 0 })])
    expect(schemaErrors(a.events)).toEqual([])
  })

  it('returns null within the timeout when no peer has the record, and with no peers at all', async () => {
    const lonely = await startNode()
    const { instruction } = await makeReceipt(8)
    expect(await lonely.network.findReceipt(instruction)).toBeNull()

    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    await connected(b, a)
    expect(await b.network.findReceipt(instruction, { timeoutMs: 300 })).toBeNull()
    const aborted = new AbortController()
    aborted.abort()
    expect(await b.network.findReceipt(instruction, { signal: aborted.signal })).toBeNull()
    expect(eventsOf(b, 'got_receipt_dht')).toEqual([])
  })

  it('refuses to store an invalid record for a peer and counts it', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    await connected(a, b)
    const receipt = await makeReceipt(9)
    const bad = dagCbor.encode({ 'ipvm/receipt': { version: '0.1.0' } })
    const result = await a.network.publishReceipt({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, dhtBytes: bad })
    expect(result.dht).toEqual({ quorumReached: false, storedTo: [] })
    await waitUntil(() => (b.metrics.invalid.get('RECEIPT_VERSION') ?? 0) >= 1, 2000, 'B counts the invalid record')
    expect(await b.network.findReceipt(receipt.instruction, { timeoutMs: 300 })).toBeNull()
  })

  it('needs a started network', async () => {
    const { Network } = await import('../../../src/network/index.js')
    const { generateKeyPair } = await import('@libp2p/crypto/keys')
    const { silentLogger } = await import('../../../src/util/logger.js')
    const { TestExchange } = await import('./helpers.js')
    const exchange = new TestExchange()
    const network = new Network({}, { privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), receipts: exchange, receiptStore: exchange })
    await expect(network.findReceipt(CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'))).rejects.toMatchObject({ code: NetworkErrorCode.NOT_STARTED })
    expect(network.listeners()).toEqual([])
  })
})
