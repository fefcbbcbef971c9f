import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, type SubscriptionStream } from '../../../src/client/index.js'
import { encode, encodeGossipReceipt, parseJson, parseWorkflow, receiptCid, toStoredReceipt, wasmReceipt } from '../../../src/ipld/index.js'
import { RECEIPTS_TOPIC } from '../../../src/network/index.js'
import { OpenRpc } from '../../../src/rpc/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { addResource, chain } from '../../utils/workflows.js'
import { rawPeer, stopRawPeers } from '../../utils/raw-peer.js'
import { waitUntil } from '../../utils/wait.js'
import { metricValue as counter } from '../../utils/metrics.js'


/** Network notifications a node sent since the subscription started. */
class EventLog {
  readonly events: Array<Record<string, any>> = []
  private constructor (readonly stream: SubscriptionStream<Record<string, any>>) {
    void (async () => { for await (const e of stream) this.events.push(e) })()
  }

  static async open (t: TestNode): Promise<EventLog> {
    return new EventLog(await t.client.networkEvents())
  }

  of (type: string): Array<Record<string, any>> {
    return this.events.filter(e => type in e).map(e => e[type])
  }
}

const validateNetworkEvent = new OpenRpc().ajv.getSchema('network.json')!

describe('three nodes on loopback', () => {
  let a: TestNode, b: TestNode, c: TestNode
  let logA: EventLog, logB: EventLog, logC: EventLog
  let rsc: string

  beforeAll(async () => {
    a = await startTestNode()
    logA = await EventLog.open(a)
    b = await startTestNode({ config: { network: { peers: [a.node.multiaddrs[0]], receipt_quorum: 1 } } })
    logB = await EventLog.open(b)
    // C knows only B, and trusts A's receipts, which reach it through B
    c = await startTestNode({ config: { network: { peers: [b.node.multiaddrs[0]], receipt_quorum: 1, trusted_peers: [a.node.peerId] } } })
    logC = await EventLog.open(c)
    await waitUntil(async () => Object.keys((await b.client.node()).dynamic.connections).length >= 2, 15_000, 'B connected to A and C')
    rsc = await addResource(a.httpUrl, await buildTestComponent())
  }, 60_000)

  afterAll(async () => {
    await stopRawPeers()
    for (const t of [c, b, a]) await t?.close()
  })

  it('node reports live listeners and connections', async () => {
    const info = await b.client.node()
    expect(info.dynamic.listeners.length).toBeGreaterThan(0)
    for (const l of info.dynamic.listeners) expect(l).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    expect(Object.keys(info.dynamic.connections).sort()).toEqual([a.node.peerId, c.node.peerId].sort())
    expect(logB.of('connection_established').map(e => e.peer_id)).toEqual(expect.arrayContaining([a.node.peerId, c.node.peerId]))
  })

  it('a workflow run on A replays on C: every receipt replayed, no Wasm executed on C', async () => {
    const wf = chain(rsc, 3, 10)
    const onA = await collectRun(await a.client.runWorkflow(wf), 30_000)
    expect(onA.status.status).toBe('completed')
    const cids = onA.receipts.map(r => r.receipt_cid['/'])
    // the receipts reach C by gossip (through B) or from the DHT when C asks
    await waitUntil(async () => await counter(c, 'ipvm_receipts_from_peers_total') >= 3 || logC.of('received_receipt_pubsub').length >= 3, 15_000, 'receipts on C')
    const onC = await collectRun(await c.client.runWorkflow(wf), 30_000)
    expect(onC.receipts.map(r => r.receipt_cid['/'])).toEqual(cids)
    expect(onC.receipts.every(r => r.metadata.replayed)).toBe(true)
    expect(onC.status).toMatchObject({ status: 'completed', tasks: { replayed: 3, executed: 0 } })
    expect(await counter(c, 'ipvm_tasks_executed_total')).toBe(0)

    expect(logA.of('published_receipt_pubsub').map(e => e.cid)).toEqual(expect.arrayContaining(cids))
    expect(logB.of('received_receipt_pubsub').map(e => e.cid)).toEqual(expect.arrayContaining(cids))
    // C gossips the receipts it replayed again, as Homestar does: A hears its own receipts back
    await waitUntil(() => cids.every(cid => logC.of('published_receipt_pubsub').some(e => e.cid === cid)), 10_000, 'C gossips its replays')
    await waitUntil(() => cids.every(cid => logA.of('received_receipt_pubsub').some(e => e.cid === cid)), 10_000, 'A hears them')
    for (const log of [logA, logB, logC]) {
      for (const e of log.events) expect(validateNetworkEvent(e), JSON.stringify(validateNetworkEvent.errors)).toBe(true)
    }
  })

  it('a workflow whose Wasm was added only on A runs on B: the resource comes from A over libp2p', async () => {
    const wf = chain(rsc, 2, 5000)
    const onB = await collectRun(await b.client.runWorkflow(wf), 30_000)
    expect(onB.status.status).toBe('completed')
    expect(onB.receipts.map(r => r.receipt.out)).toEqual([['ok', 5001], ['ok', 5002]])
    expect(onB.receipts.every(r => !r.metadata.replayed)).toBe(true)
    expect(await counter(b, 'ipvm_tasks_executed_total')).toBe(2)
  })

  it('forged receipts from a peer are rejected, counted and not stored', async () => {
    const hostile = await rawPeer()
    await hostile.dial(multiaddr(a.node.multiaddrs[0]))
    await waitUntil(() => hostile.services.pubsub.getSubscribers(RECEIPTS_TOPIC).length > 0, 10_000, 'hostile peer sees A subscribed')
    await new Promise(resolve => setTimeout(resolve, 300))

    const wf = parseWorkflow(parseJson(JSON.stringify(chain(rsc, 1, 31337))))
    const task = wf.tasks[0]
    const lie = wasmReceipt(task.ran, 'add_one', 1)
    const truth = wasmReceipt(task.ran, 'add_one', 31338)
    const stored = toStoredReceipt(lie, task.run.cid)
    const invalidBefore = await counter(a, 'ipvm_receipts_invalid_from_peers_total')
    const fromPeersBefore = await counter(a, 'ipvm_receipts_from_peers_total')
    // a payload whose stated CID is another receipt's, and bytes that are not a message at all
    await hostile.services.pubsub.publish(RECEIPTS_TOPIC, encode({ header: { nonce: new Uint8Array(12) }, payload: { ...stored, out: ['ok', 2], cid: receiptCid(truth), instruction: task.run.cid, version: '0.2.0' } as never }))
    await hostile.services.pubsub.publish(RECEIPTS_TOPIC, new Uint8Array([1, 2, 3]))
    await waitUntil(async () => await counter(a, 'ipvm_receipts_invalid_from_peers_total') >= invalidBefore + 2, 10_000, 'invalid receipts counted')
    expect(await counter(a, 'ipvm_receipts_from_peers_total')).toBe(fromPeersBefore)

    // the workflow runs for real on A: nothing forged was kept
    const onA = await collectRun(await a.client.runWorkflow(JSON.stringify(chain(rsc, 1, 31337))), 30_000)
    expect(onA.receipts[0].metadata.replayed).toBe(false)
    expect(onA.receipts[0].receipt.out).toEqual(['ok', 31338])

    // a well-formed receipt from that peer, which A does not trust, that disagrees with A's own
    // result is a conflict: counted, reported, and not stored
    const conflictsBefore = await counter(a, 'ipvm_receipt_conflicts_total')
    await hostile.services.pubsub.publish(RECEIPTS_TOPIC, encodeGossipReceipt(toStoredReceipt(wasmReceipt(task.ran, 'add_one', 99), task.run.cid)))
    await waitUntil(async () => await counter(a, 'ipvm_receipt_conflicts_total') >= conflictsBefore + 1, 10_000, 'conflict counted')
    await waitUntil(() => logA.of('receipt_conflict').some(e => e.publisher === hostile.peerId.toString()), 10_000, 'conflict reported')
    expect(await counter(a, 'ipvm_receipts_from_peers_total')).toBe(fromPeersBefore)
  })
})

describe('nodes without gossip', () => {
  let d: TestNode, x: TestNode, e: TestNode
  beforeAll(async () => {
    d = await startTestNode({ config: { network: { gossip: false } } })
    // X knows D, E knows only X: E reaches D's receipts through the DHT, or through X
    x = await startTestNode({ config: { network: { gossip: false, peers: [d.node.multiaddrs[0]], receipt_quorum: 1 } } })
    e = await startTestNode({ config: { network: { gossip: false, peers: [x.node.multiaddrs[0]], receipt_quorum: 1, trusted_peers: [d.node.peerId] } } })
    await waitUntil(async () => Object.keys((await x.client.node()).dynamic.connections).length >= 2, 15_000, 'X connected to D and E')
  }, 60_000)
  afterAll(async () => {
    for (const t of [e, x, d]) await t?.close()
  })

  it('a node asks its peers for all of a run\'s receipts at once, and reuses them', async () => {
    const rsc = await addResource(d.httpUrl, await buildTestComponent())
    const wf = chain(rsc, 3, 900)
    const onD = await collectRun(await d.client.runWorkflow(wf), 30_000)
    expect(onD.status.status).toBe('completed')
    // X names D: D's receipts come to X in one exchange, no task runs on X
    const onX = await collectRun(await x.client.runWorkflow(wf), 30_000)
    expect(onX.receipts.map(r => r.receipt_cid['/'])).toEqual(onD.receipts.map(r => r.receipt_cid['/']))
    expect(onX.receipts.every(r => r.metadata.replayed)).toBe(true)
    expect(await counter(x, 'ipvm_tasks_executed_total')).toBe(0)
  })

  it('a node not connected to the one that made a receipt finds it, signed by its maker', async () => {
    const rsc = await addResource(d.httpUrl, await buildTestComponent())
    const wf = chain(rsc, 1, 4100)
    const onD = await collectRun(await d.client.runWorkflow(wf), 30_000)
    // D's record reaches X's DHT store (quorum 1), not X's receipt store: gossip is off
    await waitUntil(async () => await counter(x, 'ipvm_dht_records') >= 1, 15_000, 'the record on X')
    const onE = await collectRun(await e.client.runWorkflow(wf), 30_000)
    expect(onE.receipts.map(r => [r.receipt_cid['/'], r.metadata.replayed])).toEqual(onD.receipts.map(r => [r.receipt_cid['/'], true]))
    // from the DHT record on X, or from D once the DHT walk connected E to it: signed by D either way
    const record = await e.client.request<any>('receipt_get', [onD.receipts[0].receipt_cid['/']])
    expect(record.provenance.computed_here).toBe(false)
    expect(record.provenance.vouched_by).toContainEqual(expect.objectContaining({ peer: d.node.peerId, signed: true }))
  })
})
