import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { base58btc } from 'multiformats/bases/base58'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, type SubscriptionStream } from '../../../src/client/index.js'
import { encodeGossipReceipt, encodeReceiptCapsule, parseJson, parseWorkflow, receiptCid, toStoredReceipt, type Receipt, type Task } from '../../../src/ipld/index.js'
import { KAD_PROTOCOL, RECEIPTS_TOPIC, receiptRecordKey, signReceipt } from '../../../src/network/index.js'
import { putValueTo } from '../../../src/network/kad-put.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { addResource, chain } from '../../utils/workflows.js'
import { rawPeer, stopRawPeers } from '../../utils/raw-peer.js'
import { waitUntil } from '../../utils/wait.js'
import { metricValue } from '../../utils/metrics.js'

type Raw = Awaited<ReturnType<typeof rawPeer>>

/** The first task of a chain of add_one from `start`: its instruction and invocation. */
function taskOf (rsc: string, start: number, length = 1): Task[] {
  return parseWorkflow(parseJson(JSON.stringify(chain(rsc, length, start)))).tasks
}

function receiptFor (task: Task, out: Receipt['out'], extra: Partial<Receipt> = {}): Receipt {
  return { ran: task.ran, out, meta: { op: 'add_one' }, iss: null, prf: [], ...extra }
}

async function gossip (peer: Raw, task: Task, receipt: Receipt): Promise<void> {
  await peer.services.pubsub.publish(RECEIPTS_TOPIC, encodeGossipReceipt(toStoredReceipt(receipt, task.run.cid)))
}

async function connect (peer: Raw, to: TestNode): Promise<void> {
  await peer.dial(multiaddr(to.node.multiaddrs[0]))
  await waitUntil(() => peer.services.pubsub.getSubscribers(RECEIPTS_TOPIC).some(p => p.toString() === to.node.peerId), 10_000, 'the node subscribed, seen from the peer')
  // the node's mesh takes the peer on its next heartbeat; a message sent before may be dropped
  await new Promise(resolve => setTimeout(resolve, 300))
}

/** Network notifications of one node, collected. */
async function eventLog (t: TestNode): Promise<Array<Record<string, Record<string, unknown>>>> {
  const events: Array<Record<string, Record<string, unknown>>> = []
  const stream: SubscriptionStream<Record<string, Record<string, unknown>>> = await t.client.subscribe('subscribe_network_events', [], 'unsubscribe_network_events')
  void (async () => { for await (const e of stream) events.push(e) })()
  return events
}

function didKeyOf (peerId: string): string {
  const key = peerIdFromString(peerId).publicKey!
  return `did:key:${base58btc.encode(Uint8Array.from([0xed, 0x01, ...key.raw]))}`
}

describe('a peer network no stranger can poison', () => {
  let victim: TestNode
  let behind: TestNode
  let stranger: Raw
  let friend: Raw
  let friendKey: PrivateKey
  let rsc: string
  let victimEvents: Array<Record<string, Record<string, unknown>>>

  beforeAll(async () => {
    friendKey = await generateKeyPair('Ed25519')
    // the victim trusts one peer by name; a second node trusts the victim (it names it with --peer)
    victim = await startTestNode({ config: { network: { trusted_peers: [peerIdFromPrivateKey(friendKey).toString()], receipt_quorum: 1 } } })
    behind = await startTestNode({ config: { network: { peers: [victim.node.multiaddrs[0]], receipt_quorum: 1 } } })
    victimEvents = await eventLog(victim)
    stranger = await rawPeer()
    friend = await rawPeer(friendKey)
    await connect(stranger, victim)
    await connect(friend, victim)
    await waitUntil(async () => Object.keys((await behind.client.node()).dynamic.connections).length >= 1, 15_000, 'behind connected to the victim')
    rsc = await addResource(victim.httpUrl, await buildTestComponent())
  }, 60_000)

  afterAll(async () => {
    await stopRawPeers()
    await behind?.close()
    await victim?.close()
  })

  it('(a) forged receipts for a task nobody ran yet are never a result, on the victim or behind it', async () => {
    const [task] = taskOf(rsc, 4242)
    const lie = receiptFor(task, ['ok', 1])
    const candidatesBefore = await metricValue(victim, 'ipvm_receipt_candidates')
    // by gossip, and as DHT records put straight on the victim: one unsigned, one signed by the stranger
    await gossip(stranger, task, lie)
    const key = receiptRecordKey(task.run.cid)
    await putValueTo(stranger, peerIdFromString(victim.node.peerId), KAD_PROTOCOL, key, encodeReceiptCapsule(lie), AbortSignal.timeout(10_000))
    const signed = encodeReceiptCapsule(lie, await signReceipt(await generateKeyPair('Ed25519'), receiptCid(lie), task.run.cid))
    await putValueTo(stranger, peerIdFromString(victim.node.peerId), KAD_PROTOCOL, key, signed, AbortSignal.timeout(10_000))
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipt_candidates') > candidatesBefore, 10_000, 'the gossiped lie kept apart')

    // the node behind asks the DHT (which holds the lie) and gets nothing it trusts: it runs the task
    const wf = JSON.stringify(chain(rsc, 1, 4242))
    const onBehind = await collectRun(await behind.client.runWorkflow(wf), 30_000)
    expect(onBehind.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 4243], false]])
    // the victim computes the true value too (the node behind is not trusted by the victim)
    const conflictsBefore = await metricValue(victim, 'ipvm_receipt_conflicts_total')
    const onVictim = await collectRun(await victim.client.runWorkflow(wf), 30_000)
    expect(onVictim.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 4243], false]])
    // the stranger's lie is a conflict now: counted and reported
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipt_conflicts_total') > conflictsBefore, 10_000, 'conflict counted')
    await waitUntil(() => victimEvents.some(e => e.receipt_conflict?.publisher === stranger.peerId.toString() && e.receipt_conflict.instruction === task.run.cid.toString()), 10_000, 'conflict reported')
    for (const t of [victim, behind]) {
      const kept = await t.client.request<{ receipt: { out: unknown } }>('receipt_get', [task.run.cid.toString()])
      expect(kept.receipt.out).toEqual(['ok', 4243])
    }
  })

  it('(b) a receipt whose ran does not bind to the task, or that names another issuer, is not reused, even from a trusted peer', async () => {
    const [task] = taskOf(rsc, 5151)
    const [other] = taskOf(rsc, 1)
    const invalidBefore = await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total')
    const unboundBefore = await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total', { reason: 'ran_mismatch' })
    const impostorBefore = await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total', { reason: 'issuer_mismatch' })
    const fromPeersBefore = await metricValue(victim, 'ipvm_receipts_from_peers_total')
    // the trusted peer vouches for a receipt of another task, filed under this task's instruction
    await gossip(friend, task, receiptFor(task, ['ok', 1], { ran: other.ran }))
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipts_from_peers_total') > fromPeersBefore, 10_000, 'the trusted peer\'s receipt kept')
    // and one that claims to be issued by the node behind
    const [third] = taskOf(rsc, 5252)
    await gossip(friend, third, receiptFor(third, ['ok', 2], { iss: didKeyOf(behind.node.peerId) }))
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total', { reason: 'issuer_mismatch' }) > impostorBefore, 10_000, 'impostor refused')

    const onVictim = await collectRun(await victim.client.runWorkflow(JSON.stringify(chain(rsc, 1, 5151))), 30_000)
    expect(onVictim.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 5152], false]])
    expect(await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total', { reason: 'ran_mismatch' })).toBeGreaterThan(unboundBefore)
    expect(await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total')).toBeGreaterThan(invalidBefore)
    // the node behind replays the victim's true receipt, never the forged one
    const onBehind = await collectRun(await behind.client.runWorkflow(JSON.stringify(chain(rsc, 1, 5151))), 30_000)
    expect(onBehind.receipts.map(r => r.receipt.out)).toEqual([['ok', 5152]])
    const onThird = await collectRun(await victim.client.runWorkflow(JSON.stringify(chain(rsc, 1, 5252))), 30_000)
    expect(onThird.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 5253], false]])
    const thirdBehind = await collectRun(await behind.client.runWorkflow(JSON.stringify(chain(rsc, 1, 5252))), 30_000)
    expect(thirdBehind.receipts.map(r => r.receipt.out)).toEqual([['ok', 5253]])
  })

  it('(c) a result of the wrong type from a trusted peer does not feed a dependent task', async () => {
    const [first] = taskOf(rsc, 6060, 2)
    const fromPeersBefore = await metricValue(victim, 'ipvm_receipts_from_peers_total')
    const conflictsBefore = await metricValue(victim, 'ipvm_receipt_conflicts_total')
    const wrongTypeBefore = await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total', { reason: 'result_type' })
    // add_one returns an s32; the trusted peer says it returned a string
    await gossip(friend, first, receiptFor(first, ['ok', '6061']))
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipts_from_peers_total') > fromPeersBefore, 10_000, 'the trusted peer\'s receipt kept')
    const run = await collectRun(await victim.client.runWorkflow(JSON.stringify(chain(rsc, 2, 6060))), 30_000)
    expect(run.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 6061], false], [['ok', 6062], false]])
    expect(await metricValue(victim, 'ipvm_receipts_invalid_from_peers_total', { reason: 'result_type' })).toBeGreaterThan(wrongTypeBefore)
    // the node's own result took the place of the peer's: a conflict of the peer that vouched for it
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipt_conflicts_total') > conflictsBefore, 10_000, 'conflict counted')
    await waitUntil(() => victimEvents.some(e => e.receipt_conflict?.publisher === friend.peerId.toString()), 10_000, 'conflict reported')
    // the node behind, which trusts the victim, gets the true values too
    const behindRun = await collectRun(await behind.client.runWorkflow(JSON.stringify(chain(rsc, 2, 6060))), 30_000)
    expect(behindRun.receipts.map(r => r.receipt.out)).toEqual([['ok', 6061], ['ok', 6062]])
  })

  it('a stranger that vouches for three conflicting receipts is disconnected and refused from then on', async () => {
    // three results the victim computed itself
    const tasks = [7001, 7002, 7003].map(start => taskOf(rsc, start)[0])
    for (const start of [7001, 7002, 7003]) {
      const run = await collectRun(await victim.client.runWorkflow(JSON.stringify(chain(rsc, 1, start))), 30_000)
      expect(run.receipts.map(r => r.receipt.out)).toEqual([['ok', start + 1]])
    }
    const liar = await rawPeer()
    await connect(liar, victim)
    const victimId = peerIdFromString(victim.node.peerId)
    const conflictsBefore = await metricValue(victim, 'ipvm_receipt_conflicts_total')
    // two lies: counted, and the liar is still connected
    for (const task of tasks.slice(0, 2)) await gossip(liar, task, receiptFor(task, ['ok', 1]))
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipt_conflicts_total') === conflictsBefore + 2, 10_000, 'two conflicts counted')
    expect(liar.getConnections(victimId).length).toBeGreaterThan(0)
    // the third: the victim hangs up
    await gossip(liar, tasks[2], receiptFor(tasks[2], ['ok', 1]))
    await waitUntil(() => liar.getConnections(victimId).length === 0, 10_000, 'the liar disconnected')
    expect(await metricValue(victim, 'ipvm_receipt_conflicts_total')).toBe(conflictsBefore + 3)
    // and does not let it back in: the dial fails, or the connection is closed at once
    await liar.dial(multiaddr(victim.node.multiaddrs[0])).catch(() => undefined)
    await waitUntil(() => liar.getConnections(victimId).length === 0, 10_000, 'the liar refused again')
    expect(Object.keys((await victim.client.node()).dynamic.connections)).not.toContain(liar.peerId.toString())
    // its lies changed nothing
    for (const [i, task] of tasks.entries()) {
      const kept = await victim.client.request<{ receipt: { out: unknown } }>('receipt_get', [task.run.cid.toString()])
      expect(kept.receipt.out).toEqual(['ok', 7002 + i])
    }
  })

  it('a trusted peer\'s honest receipt, in Homestar\'s gossip form, is replayed without running the task', async () => {
    const [task] = taskOf(rsc, 7070)
    const fromPeersBefore = await metricValue(victim, 'ipvm_receipts_from_peers_total')
    await gossip(friend, task, receiptFor(task, ['ok', 7071]))
    await waitUntil(async () => await metricValue(victim, 'ipvm_receipts_from_peers_total') > fromPeersBefore, 10_000, 'kept')
    const executedBefore = await metricValue(victim, 'ipvm_tasks_executed_total')
    const run = await collectRun(await victim.client.runWorkflow(JSON.stringify(chain(rsc, 1, 7070))), 30_000)
    expect(run.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 7071], true]])
    expect(await metricValue(victim, 'ipvm_tasks_executed_total')).toBe(executedBefore)
    const record = await victim.client.request<{ provenance: unknown }>('receipt_get', [task.run.cid.toString()])
    expect(record.provenance).toEqual({ computed_here: false, vouched_by: [{ peer: friend.peerId.toString(), via: 'pubsub', signed: false }] })
  })

  it('a node that trusts any peer, as Homestar does, reuses a stranger\'s receipt', async () => {
    const open = await startTestNode({ config: { network: { trust: 'any' } } })
    try {
      const peer = await rawPeer()
      await connect(peer, open)
      const orsc = await addResource(open.httpUrl, await buildTestComponent())
      const [task] = taskOf(orsc, 8080)
      await gossip(peer, task, receiptFor(task, ['ok', 8081]))
      await waitUntil(async () => await metricValue(open, 'ipvm_receipts_from_peers_total') > 0, 10_000, 'kept')
      const run = await collectRun(await open.client.runWorkflow(JSON.stringify(chain(orsc, 1, 8080))), 30_000)
      expect(run.receipts.map(r => [r.receipt.out, r.metadata.replayed])).toEqual([[['ok', 8081], true]])
    } finally {
      await open.close()
    }
  })
})
