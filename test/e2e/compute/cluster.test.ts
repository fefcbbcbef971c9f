import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, IpvmClient } from '../../../src/client/index.js'
import { startTestNode, tempDir, type TestNode } from '../../utils/node.js'
import { startNodeProcess, stopNodeProcess, type NodeProcess } from '../../utils/node-process.js'
import { buildTestComponent, buildTestCoreModule, buildTestEmbeddedModule } from '../../utils/wasm.js'
import { addResource, task, workflowCid } from '../../utils/workflows.js'
import { metricValue } from '../../utils/metrics.js'
import { waitUntil } from '../../utils/wait.js'
import { clusterConfig, eventLog, executors, fanOut, identity, outputs, waitForOffers, type Identity } from './helpers.js'

/**
 * Three nodes that run each other's tasks: A trusts B and C (by peer id), B and C dial A (so
 * they trust it, and take its tasks under the default compute.accept = "trusted"). B runs in a
 * child process, so that it can be killed. D dials A but nobody trusts it.
 */
describe('a compute network of three nodes', () => {
  const children: ChildProcess[] = []
  const dirs: Array<{ remove: () => void }> = []
  let a: TestNode
  let c: TestNode
  let d: TestNode
  let b: NodeProcess
  let bClient: IpvmClient
  let ids: Record<'b' | 'c' | 'd', Identity>
  let aEvents: Array<Record<string, Record<string, unknown>>>

  beforeAll(async () => {
    ids = { b: await identity(), c: await identity(), d: await identity() }
    a = await startTestNode({ config: { ...clusterConfig(await identity(), { trusted: [ids.b.peerId, ids.c.peerId] }) } })
    const aAddr = a.node.multiaddrs[0]
    const bDir = tempDir()
    dirs.push(bDir)
    b = await startNodeProcess(bDir.dir, children, {
      IPVM_NODE__KEY_SEED: ids.b.seed,
      IPVM_NETWORK__ENABLE: 'true',
      IPVM_NETWORK__LISTEN: '/ip4/127.0.0.1/tcp/0',
      IPVM_NETWORK__MDNS: 'false',
      IPVM_NETWORK__PEERS: aAddr,
      IPVM_NETWORK__RECEIPT_QUORUM: '1',
      IPVM_NODE__LOG_LEVEL: 'warn'
    })
    bClient = await IpvmClient.connect(`ws://127.0.0.1:${b.port}`)
    c = await startTestNode({ config: clusterConfig(ids.c, { peers: [aAddr] }) })
    d = await startTestNode({ config: clusterConfig(ids.d, { peers: [aAddr], compute: { accept: 'any' }, workflow: { placement: 'remote-first' } }) })
    aEvents = await eventLog(a.client)
    await waitForOffers(a.client, [ids.b.peerId, ids.c.peerId])
  }, 90_000)

  afterAll(async () => {
    await bClient?.close()
    await d?.close()
    await c?.close()
    await a?.close()
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    for (const dir of dirs) dir.remove()
  })

  it('a workflow whose Wasm is only on A runs its tasks on B and C: the Wasm travels from A', async () => {
    // the core module is added to A alone; remote-first sends every task to a peer with room
    const rsc = await addResource(a.httpUrl, await buildTestCoreModule())
    const run = await collectRun(await a.client.runWorkflow(fanOut(rsc, 10, 100), { placement: 'remote-first' }), 60_000)
    expect(run.status.status).toBe('completed')
    expect(outputs(run)).toEqual(Array.from({ length: 10 }, (_v, i) => 101 + i))
    const by = executors(run.receipts)
    expect([...by.keys()].sort()).toEqual([ids.b.peerId, ids.c.peerId].sort())
    expect(run.receipts.every(r => !r.metadata.replayed)).toBe(true)
    // each of them served tasks for A
    expect(await metricValue({ client: bClient }, 'ipvm_compute_served_total', { outcome: 'ok' })).toBeGreaterThan(0)
    expect(await metricValue(c, 'ipvm_compute_served_total', { outcome: 'ok' })).toBeGreaterThan(0)
  })

  it('a 30-task fan-out with placement spread completes with receipts executed on A, B and C', async () => {
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    const wf = fanOut(rsc, 30, 1000)
    const run = await collectRun(await a.client.runWorkflow(wf, { placement: 'spread' }), 60_000)
    expect(run.status).toMatchObject({ status: 'completed', tasks: { total: 30, executed: 30, replayed: 0, failed: 0 } })
    expect(outputs(run)).toEqual(Array.from({ length: 30 }, (_v, i) => 1001 + i))
    expect(new Set(run.receipts.map(r => r.receipt.ran['/'])).size).toBe(30)
    expect([...executors(run.receipts).keys()].sort()).toEqual([a.node.peerId, ids.b.peerId, ids.c.peerId].sort())
    // a task another node ran is stored as that node's, vouched for by its signature
    const remote = run.receipts.find(r => r.metadata.executor === ids.c.peerId)!
    const stored = await a.client.request<{ provenance?: { computed_here: boolean, vouched_by: Array<{ peer: string, via: string, signed: boolean }> } }>('receipt_get', [remote.receipt_cid['/']])
    expect(stored.provenance).toEqual({ computed_here: false, vouched_by: [{ peer: ids.c.peerId, via: 'dispatch', signed: true }] })
    // the network events say where the tasks went and came back from
    await waitUntil(() => aEvents.some(e => e.task_result_received?.peer_id === ids.c.peerId), 5000, 'task_result_received')
    expect(aEvents.some(e => e.task_dispatched?.peer_id === ids.b.peerId)).toBe(true)
  })

  it('an untrusted peer D gets none of A\'s tasks, A runs none of D\'s, and D\'s receipts are never A\'s results', async () => {
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    await addResource(d.httpUrl, await buildTestComponent())
    const dEvents = await eventLog(d.client)
    // D (remote-first, trusting A) runs a workflow first: A refuses it, so it runs on D, and its receipts reach A by gossip
    const wf = fanOut(rsc, 8, 5000)
    const onD = await collectRun(await d.client.runWorkflow(wf), 60_000)
    expect(onD.status.status).toBe('completed')
    expect([...executors(onD.receipts).keys()]).toEqual([d.node.peerId])
    // A asks no offer of D and never sends it a task, even with D offering work to anyone
    const info = await a.client.request<{ dynamic: { compute: { peers: Record<string, unknown> } } }>('node')
    expect(Object.keys(info.dynamic.compute.peers)).not.toContain(d.node.peerId)
    const onA = await collectRun(await a.client.runWorkflow(wf, { placement: 'spread' }), 60_000)
    expect(onA.status).toMatchObject({ status: 'completed', tasks: { executed: 8, replayed: 0 } })
    expect(outputs(onA)).toEqual(Array.from({ length: 8 }, (_v, i) => 5001 + i))
    expect([...executors(onA.receipts).keys()]).not.toContain(d.node.peerId)
    expect(dEvents.some(e => e.task_received !== undefined)).toBe(false)
    expect(aEvents.some(e => e.task_received?.peer_id === d.node.peerId || e.task_dispatched?.peer_id === d.node.peerId)).toBe(false)
    expect(await metricValue(d, 'ipvm_compute_served_total')).toBe(0)
  })

  it('a cancel reaches a task running on a peer', async () => {
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    // spin never returns: only the cancel ends it on C
    const wf = { tasks: [task(rsc, 'spin', [], { time: 60_000 })] }
    const stream = await a.client.runWorkflow(wf, { placement: 'remote-first' })
    const on = await waitUntil(async () => {
      for (const [name, client] of [['b', bClient], ['c', c.client]] as const) {
        const info = await client.request<{ dynamic: { compute: { serving: number } } }>('node')
        if (info.dynamic.compute.serving > 0) return { name, client }
      }
      return undefined
    }, 30_000, 'the task running on a peer', 50)
    const cancelledBefore = await metricValue({ client: on.client }, 'ipvm_compute_served_total', { outcome: 'cancelled' })
    await a.client.request('workflow_cancel', [workflowCid(wf)])
    await collectRun(stream, 30_000)
    await waitUntil(async () => await metricValue({ client: on.client }, 'ipvm_compute_served_total', { outcome: 'cancelled' }) > cancelledBefore, 20_000, 'the peer to stop the task')
    const info = await on.client.request<{ dynamic: { compute: { serving: number } } }>('node')
    expect(info.dynamic.compute.serving).toBe(0)
  })

  it('killing B in the middle of a run still completes it with every task\'s result exactly once', async () => {
    // a Wasm B has not prepared yet: its tasks are in flight on B (fetching, compiling) when it dies
    const rsc = await addResource(a.httpUrl, await buildTestEmbeddedModule())
    const wf = fanOut(rsc, 30, 9000)
    const failedBefore = await metricValue(a, 'ipvm_compute_failed_total', { peer: ids.b.peerId })
    const seen = aEvents.length
    const stream = await a.client.runWorkflow(wf, { placement: 'spread' })
    await waitUntil(() => aEvents.slice(seen).some(e => e.task_dispatched?.peer_id === ids.b.peerId), 30_000, 'a task sent to B')
    await stopNodeProcess(b, 'SIGKILL')
    const run = await collectRun(stream, 90_000)
    expect(run.status).toMatchObject({ status: 'completed', tasks: { total: 30, executed: 30, replayed: 0, failed: 0 } })
    expect(run.receipts).toHaveLength(30)
    expect(new Set(run.receipts.map(r => r.receipt.ran['/'])).size).toBe(30)
    expect(outputs(run)).toEqual(Array.from({ length: 30 }, (_v, i) => 9001 + i))
    // B's tasks came back as faults (counted as attempts) and ran on A or C
    expect(await metricValue(a, 'ipvm_compute_failed_total', { peer: ids.b.peerId })).toBeGreaterThan(failedBefore)
    expect(run.status.retries).toBeGreaterThan(0)
    const receipts = await a.client.request<unknown[]>('workflow_receipts', [run.receipts[0].metadata.workflow['/']])
    expect(receipts).toHaveLength(30)
  })
})
