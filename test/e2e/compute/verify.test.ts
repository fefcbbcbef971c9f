import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun } from '../../../src/client/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addResource } from '../../utils/workflows.js'
import { metricValue } from '../../utils/metrics.js'
import { waitUntil } from '../../utils/wait.js'
import { clusterConfig, eventLog, executors, fanOut, identity, outputs, waitForOffers, type Identity } from './helpers.js'

/**
 * A requester that trusts two peers, one of which lies: its executor adds 1000 to every
 * add_one result it returns (and signs it). Trust alone would take the lie; `compute.verify`
 * catches it.
 */
describe('verifying results computed by peers', () => {
  let a: TestNode
  let liar: TestNode
  let honest: TestNode
  let ids: Record<'liar' | 'honest', Identity>
  let rsc: string
  let aEvents: Array<Record<string, Record<string, unknown>>>

  beforeAll(async () => {
    ids = { liar: await identity(), honest: await identity() }
    a = await startTestNode({ config: clusterConfig(await identity(), { trusted: [ids.liar.peerId, ids.honest.peerId], compute: { verify: 'replicate:2' } }) })
    const peers = [a.node.multiaddrs[0]]
    liar = await startTestNode({
      config: clusterConfig(ids.liar, { peers }),
      testFaults: { output: (output, func) => func === 'add_one' ? (output as number) + 1000 : output }
    })
    honest = await startTestNode({ config: clusterConfig(ids.honest, { peers }) })
    aEvents = await eventLog(a.client)
    await waitForOffers(a.client, [ids.liar.peerId, ids.honest.peerId])
    rsc = await addResource(a.httpUrl, await buildTestComponent())
  }, 60_000)

  afterAll(async () => {
    await honest?.close()
    await liar?.close()
    await a?.close()
  })

  it('with replicate:2, a peer returning a wrong result is caught as a conflict and the run gets the true value', async () => {
    const conflictsBefore = await metricValue(a, 'ipvm_receipt_conflicts_total')
    const run = await collectRun(await a.client.runWorkflow(fanOut(rsc, 12, 200), { placement: 'spread' }), 60_000)
    expect(run.status).toMatchObject({ status: 'completed', tasks: { executed: 12, failed: 0 } })
    expect(outputs(run)).toEqual(Array.from({ length: 12 }, (_v, i) => 201 + i))
    expect([...executors(run.receipts).keys()]).not.toContain(ids.liar.peerId)
    // the liar answered some of them, and each of those is a conflict of the liar's
    expect(await metricValue(liar, 'ipvm_compute_served_total', { outcome: 'ok' })).toBeGreaterThan(0)
    expect(await metricValue(a, 'ipvm_receipt_conflicts_total')).toBeGreaterThan(conflictsBefore)
    expect(await metricValue(a, 'ipvm_compute_failed_total', { peer: ids.liar.peerId, reason: 'conflict' })).toBeGreaterThan(0)
    await waitUntil(() => aEvents.some(e => e.receipt_conflict?.publisher === ids.liar.peerId), 5000, 'the conflict announced')
    expect(aEvents.some(e => e.receipt_conflict !== undefined && e.receipt_conflict.publisher !== ids.liar.peerId)).toBe(false)
    // what the node keeps for those instructions is the true value
    for (const r of run.receipts) {
      const kept = await a.client.request<{ receipt: { out: [string, number] } }>('receipt_get', [r.receipt_cid['/']])
      expect(kept.receipt.out).toEqual(r.receipt.out)
    }
  })

  it('with sample:1 (a run\'s own verify option), every result a peer computed is checked here too', async () => {
    const conflictsBefore = await metricValue(a, 'ipvm_compute_failed_total', { peer: ids.liar.peerId, reason: 'conflict' })
    const run = await collectRun(await a.client.runWorkflow(fanOut(rsc, 12, 300), { placement: 'remote-first', verify: 'sample:1' }), 60_000)
    expect(run.status).toMatchObject({ status: 'completed', tasks: { executed: 12, failed: 0 } })
    expect(outputs(run)).toEqual(Array.from({ length: 12 }, (_v, i) => 301 + i))
    // remote-first gave the liar some; each was found out by running it here
    expect(await metricValue(a, 'ipvm_compute_failed_total', { peer: ids.liar.peerId, reason: 'conflict' })).toBeGreaterThan(conflictsBefore)
    expect([...executors(run.receipts).keys()]).toContain(ids.honest.peerId)
    expect([...executors(run.receipts).keys()]).not.toContain(ids.liar.peerId)
  })
})
