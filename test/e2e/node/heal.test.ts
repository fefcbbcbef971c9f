import { randomBytes } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { collectRun, isReceiptNotification, type RunNotification } from '../../../src/client/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, tempDir, type TestNode } from '../../utils/node.js'
import { addResource, chain, task } from '../../utils/workflows.js'
import { awaitOkOf, sleepTask, type AnyTaskJson } from '../../utils/control.js'
import { waitUntil } from '../../utils/wait.js'
import { metricValue } from '../../utils/metrics.js'
import type { PartialConfig } from '../../../src/config/index.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

/** A node identity known before the node starts, so that peers can name it as trusted. */
async function identity (): Promise<{ seed: string, id: string }> {
  const seed = randomBytes(32)
  return { seed: seed.toString('base64'), id: peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString() }
}

async function node (who: { seed: string }, network: PartialConfig['network'], dataDir?: string): Promise<TestNode> {
  const t = await startTestNode({ ...(dataDir !== undefined ? { dataDir } : {}), config: { node: { key_seed: who.seed }, network: { receipt_quorum: 1, ...network } } })
  cleanups.push(t.stop)
  return t
}

async function connected (t: TestNode, peers: number): Promise<void> {
  await waitUntil(async () => Object.keys((await t.client.node()).dynamic.connections).length >= peers, 15_000, 'connected')
}

describe('a network that heals what it loses', () => {
  it('a node restarted with a wiped store gets every receipt its peers hold without running a task', async () => {
    const [ida, idb] = [await identity(), await identity()]
    const a = await node(ida, { trusted_peers: [idb.id] })
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    const wf = chain(rsc, 10, 300)
    const onA = await collectRun(await a.client.runWorkflow(wf), 30_000)
    expect(onA.status.status).toBe('completed')
    // B comes up afterwards, on an empty data folder: gossip brought it nothing
    const b = await node(idb, { peers: [a.node.multiaddrs[0]] })
    await connected(b, 1)
    const onB = await collectRun(await b.client.runWorkflow(wf), 30_000)
    expect(onB.receipts.map(r => [r.receipt_cid['/'], r.metadata.replayed])).toEqual(onA.receipts.map(r => [r.receipt_cid['/'], true]))
    expect(await metricValue(b, 'ipvm_tasks_executed_total')).toBe(0)
  })

  it('a node that missed receipts while it was away gets them back from a peer when it reconnects', async () => {
    const [ida, idb] = [await identity(), await identity()]
    const a = await node(ida, { trusted_peers: [idb.id] })
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    const dir = tempDir()
    cleanups.push(dir.remove)
    const b1 = await node(idb, { peers: [a.node.multiaddrs[0]] }, dir.dir)
    await connected(b1, 1)
    await b1.stop()
    // B is away while A runs: the gossip does not reach it
    const onA = await collectRun(await a.client.runWorkflow(chain(rsc, 5, 700)), 30_000)
    const b2 = await node(idb, { peers: [a.node.multiaddrs[0]] }, dir.dir)
    // the receipt exchange with A on (re)connecting brings them, before B runs anything
    for (const r of onA.receipts) {
      await waitUntil(async () => await b2.client.request('receipt_get', [r.receipt_cid['/']]).then(() => true, () => false), 20_000, 'receipt back on B')
    }
    expect(await metricValue(b2, 'ipvm_receipts_from_peers_total')).toBeGreaterThanOrEqual(5)
  })

  it('a task whose receipt arrives while the run goes on is not run again', async () => {
    const [ida, idb] = [await identity(), await identity()]
    const a = await node(ida, { trusted_peers: [idb.id] })
    const b = await node(idb, { peers: [a.node.multiaddrs[0]] })
    await connected(b, 1)
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    // add_one ×3, a sleep of 3 s, add_one ×3
    const tasks: AnyTaskJson[] = []
    for (let i = 0; i < 7; i++) {
      const previous = tasks.at(-1)
      if (i === 3) tasks.push(sleepTask(3000, awaitOkOf(previous!)))
      else tasks.push(task(rsc, 'add_one', [previous === undefined ? 900 : awaitOkOf(previous)]))
    }
    const wf = { tasks }
    const seenA: RunNotification[] = []
    const runA = collectRun(await a.client.runWorkflow(wf), 30_000, n => seenA.push(n))
    await waitUntil(() => seenA.filter(isReceiptNotification).length >= 3, 20_000, 'A is asleep')
    // B starts the same workflow a second into A's sleep: it replays the first three, sleeps,
    // and wakes after A's last three receipts came
    await new Promise(resolve => setTimeout(resolve, 1000))
    const onB = await collectRun(await b.client.runWorkflow(wf), 30_000)
    const onA = await runA
    expect(onB.receipts.map(r => r.receipt.out)).toEqual(onA.receipts.map(r => r.receipt.out))
    expect(await metricValue(b, 'ipvm_tasks_executed_total', { op: 'add_one' })).toBe(0)
    expect(onB.receipts.filter(r => r.receipt.meta.op === 'add_one').every(r => r.metadata.replayed)).toBe(true)
  })
})
