import { multiaddr } from '@multiformats/multiaddr'
import * as dagCbor from '@ipld/dag-cbor'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_BATCH_RECEIPTS, RECEIPT_BATCH_TOPIC, RECEIPTS_TOPIC } from '../../../src/network/index.js'
import { rawPeer, stopRawPeers } from '../../utils/raw-peer.js'
import { eventsOf, fieldsSorted, makeReceipt, schemaErrors, startNode, stopAll, waitForGossipMesh, waitForGossipPeers, waitUntil, type TestNode, type TestReceipt } from './helpers.js'

afterEach(async () => {
  await stopAll()
  await stopRawPeers()
})

function expectValidEvents (...nodes: TestNode[]): void {
  for (const node of nodes) {
    expect(schemaErrors(node.events)).toEqual([])
    expect(node.events.every(fieldsSorted)).toBe(true)
  }
}

describe('network: connections and gossip', () => {
  it('connects two nodes through a configured peer and reports both sides', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    await waitUntil(() => a.network.peerId in b.network.connections() && b.network.peerId in a.network.connections(), 5000, 'connection')

    expect(a.network.listeners().length).toBeGreaterThan(0)
    for (const addr of a.network.listeners()) expect(addr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
    expect(b.network.connections()[a.network.peerId]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\//)
    expect(eventsOf(a, 'new_listen_addr')).toEqual([expect.objectContaining({ address: a.network.listeners()[0], peer_id: a.network.peerId })])
    expect(eventsOf(b, 'connection_established')).toContainEqual(expect.objectContaining({ peer_id: a.network.peerId }))
    expect(eventsOf(a, 'connection_established')).toContainEqual(expect.objectContaining({ peer_id: b.network.peerId }))
    await waitUntil(() => a.metrics.peerCount === 1 && b.metrics.peerCount === 1, 2000, 'peer gauges')

    await b.network.stop()
    await waitUntil(() => eventsOf(a, 'connection_closed').length > 0, 5000, 'connection_closed')
    expect(eventsOf(a, 'connection_closed')[0]).toMatchObject({ peer_id: b.network.peerId })
    expectValidEvents(a, b)
  })

  it('spreads a receipt from A to B and to C, which knows only B', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    const c = await startNode({ peers: [b.network.multiaddrs()[0]] })
    await waitForGossipPeers([a, b, c])
    // C hears of the receipt through B's mesh: wait until B has both A and C in it (a peer that
    // only subscribed is grafted on a heartbeat, and would get the message later, by gossip)
    await waitForGossipMesh([b], 2)

    const receipt = await makeReceipt(1)
    const result = await a.network.publishReceipt({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, gossipBytes: receipt.gossipBytes })
    expect(result).toEqual({ gossiped: true, dht: null })

    const atB = await b.exchange.waitFor((r) => r.cid.equals(receipt.cid))
    const atC = await c.exchange.waitFor((r) => r.cid.equals(receipt.cid))
    for (const got of [atB, atC]) {
      expect(got.instruction.equals(receipt.instruction)).toBe(true)
      // attributed to the peer that signed the message, A, also on C where B relayed it (StrictSign)
      expect(got.vouchers).toEqual([{ peer: a.network.peerId, via: 'pubsub', signed: false }])
    }
    expect(eventsOf(a, 'published_receipt_pubsub')).toEqual([expect.objectContaining({ cid: receipt.cid.toString(), ran: receipt.ran.toString() })])
    await waitUntil(() => eventsOf(c, 'received_receipt_pubsub').length === 1, 2000, 'received event')
    // the event names the peer it came from, as Homestar's does: on C that is B, the relay
    expect(eventsOf(c, 'received_receipt_pubsub')[0]).toMatchObject({ cid: receipt.cid.toString(), ran: receipt.ran.toString() })
    expect([a.network.peerId, b.network.peerId]).toContain(eventsOf(c, 'received_receipt_pubsub')[0].publisher)
    expect(a.metrics.published).toBe(1)
    expect(b.metrics.received).toBe(1)
    expect(c.metrics.received).toBe(1)
    expectValidEvents(a, b, c)
  })

  it('delivers a receipt published as soon as a peer subscribes', async () => {
    // The subscription can arrive before the outbound gossip stream to that peer is open.
    for (let round = 0; round < 5; round++) {
      const a = await startNode()
      const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
      await waitUntil(() => a.network.gossipPeers().length > 0, 5000, 'a subscriber')
      const receipt = await makeReceipt(100 + round)
      const result = await a.network.publishReceipt({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, gossipBytes: receipt.gossipBytes })
      expect(result.gossiped).toBe(true)
      await b.exchange.waitFor((r) => r.cid.equals(receipt.cid), 3000)
      await stopAll()
    }
  })

  it('skips gossip quietly when nobody subscribes', async () => {
    const a = await startNode()
    const receipt = await makeReceipt(2)
    const result = await a.network.publishReceipt({ cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, gossipBytes: receipt.gossipBytes, dhtBytes: receipt.dhtBytes })
    expect(result).toEqual({ gossiped: false, dht: null })
    expect(eventsOf(a, 'published_receipt_pubsub')).toEqual([])
    expect(eventsOf(a, 'put_receipt_dht')).toEqual([])
  })

  it('rejects forged gossip, counts it by reason and does not forward it', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    const hostile = await rawPeer()
    await hostile.dial(multiaddr(a.network.multiaddrs()[0]))
    await waitUntil(() => hostile.services.pubsub.getSubscribers(RECEIPTS_TOPIC).length > 0, 10_000, 'hostile peer sees A subscribed')
    await waitForGossipPeers([a], 2)

    const good = await makeReceipt(3)
    const other = await makeReceipt(4)
    const forged = dagCbor.encode({ header: { nonce: new Uint8Array(12) }, payload: { ...good.runtime, cid: other.cid } })
    await hostile.services.pubsub.publish(RECEIPTS_TOPIC, new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    await hostile.services.pubsub.publish(RECEIPTS_TOPIC, forged)
    await waitUntil(() => a.metrics.invalidTotal() === 2, 5000, 'two invalid receipts counted on A')
    expect(Object.fromEntries(a.metrics.invalid)).toEqual({ RECEIPT_DECODE: 1, RECEIPT_CID_MISMATCH: 1 })

    // A valid message from the same peer still goes through A to B, after the forged ones.
    await hostile.services.pubsub.publish(RECEIPTS_TOPIC, good.gossipBytes)
    await b.exchange.waitFor((r) => r.cid.equals(good.cid))
    expect(a.exchange.received.map((r) => r.cid.toString())).toEqual([good.cid.toString()])
    expect(b.exchange.received.map((r) => r.cid.toString())).toEqual([good.cid.toString()])
    expect(b.metrics.invalidTotal()).toBe(0)
    expect(eventsOf(a, 'received_receipt_pubsub')).toEqual([expect.objectContaining({ cid: good.cid.toString(), publisher: hostile.peerId.toString() })])
    expectValidEvents(a, b)
  })
  it('sends receipts made together to ipvm peers in one batch, and each alone to a peer that takes only Homestar\'s topic', async () => {
    const a = await startNode()
    const b = await startNode({ peers: [a.network.multiaddrs()[0]] })
    // a peer of Homestar's kind (the `receipts` topic only), and one that listens on the batch topic
    const homestarLike = await rawPeer()
    const listener = await rawPeer()
    listener.services.pubsub.unsubscribe(RECEIPTS_TOPIC)
    listener.services.pubsub.subscribe(RECEIPT_BATCH_TOPIC)
    const alone: Uint8Array[] = []
    const batches: Uint8Array[] = []
    homestarLike.services.pubsub.addEventListener('message', (e) => { if (e.detail.topic === RECEIPTS_TOPIC) alone.push(e.detail.data) })
    listener.services.pubsub.addEventListener('message', (e) => { if (e.detail.topic === RECEIPT_BATCH_TOPIC) batches.push(e.detail.data) })
    await homestarLike.dial(multiaddr(a.network.multiaddrs()[0]))
    await listener.dial(multiaddr(a.network.multiaddrs()[0]))
    await waitForGossipPeers([a], 3)
    await waitForGossipMesh([a], 1)

    const receipts: TestReceipt[] = await Promise.all([5, 6, 7].map(async v => await makeReceipt(v)))
    const results = await Promise.all(receipts.map(async r => await a.network.publishReceipt({ cid: r.cid, ran: r.ran, instruction: r.instruction, gossipBytes: r.gossipBytes })))
    expect(results.map(r => r.gossiped)).toEqual([true, true, true])
    for (const r of receipts) await b.exchange.waitFor((x) => x.cid.equals(r.cid))
    expect(b.exchange.received.map(r => r.vouchers)).toEqual(receipts.map(() => [{ peer: a.network.peerId, via: 'pubsub', signed: false }]))
    await waitUntil(() => batches.length >= 1 && alone.length >= 3, 5000, 'the batch and the single messages')
    // one message for the three on the batch topic: the list of their `receipts` topic messages
    expect(batches.map(m => dagCbor.decode(m))).toEqual([receipts.map(r => new Uint8Array(r.gossipBytes))])
    expect(alone.map(m => Buffer.from(m).toString('hex')).sort()).toEqual(receipts.map(r => Buffer.from(r.gossipBytes).toString('hex')).sort())
    expect(eventsOf(a, 'published_receipt_pubsub').map(e => e.cid)).toEqual(receipts.map(r => r.cid.toString()))
    expectValidEvents(a, b)
  })

  it('rejects a malformed batch whole, and takes a well-formed one', async () => {
    const a = await startNode()
    const hostile = await rawPeer()
    hostile.services.pubsub.subscribe(RECEIPT_BATCH_TOPIC)
    await hostile.dial(multiaddr(a.network.multiaddrs()[0]))
    await waitUntil(() => hostile.services.pubsub.getSubscribers(RECEIPT_BATCH_TOPIC).length > 0, 10_000, 'hostile peer sees A subscribed to batches')

    const [good, other] = await Promise.all([makeReceipt(8), makeReceipt(9)])
    // not a list; a list with something other than bytes; one too many; a list holding a broken receipt
    await hostile.services.pubsub.publish(RECEIPT_BATCH_TOPIC, dagCbor.encode({ receipts: [good.gossipBytes] }))
    await hostile.services.pubsub.publish(RECEIPT_BATCH_TOPIC, dagCbor.encode([good.gossipBytes, 'x']))
    await hostile.services.pubsub.publish(RECEIPT_BATCH_TOPIC, dagCbor.encode(Array.from({ length: MAX_BATCH_RECEIPTS + 1 }, () => good.gossipBytes)))
    await hostile.services.pubsub.publish(RECEIPT_BATCH_TOPIC, dagCbor.encode([good.gossipBytes, new Uint8Array([0xde, 0xad])]))
    await waitUntil(() => a.metrics.invalidTotal() === 4, 5000, 'four invalid batches counted on A')
    expect(a.exchange.received).toEqual([])

    await hostile.services.pubsub.publish(RECEIPT_BATCH_TOPIC, dagCbor.encode([good.gossipBytes, other.gossipBytes]))
    await a.exchange.waitFor((r) => r.cid.equals(other.cid))
    expect(a.exchange.received.map(r => r.cid.toString())).toEqual([good.cid.toString(), other.cid.toString()])
    expect(eventsOf(a, 'received_receipt_pubsub').map(e => e.cid)).toEqual([good.cid.toString(), other.cid.toString()])
    expectValidEvents(a)
  })
})
