import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun } from '../../../src/client/index.js'
import { closeBlockPeers, startHolder } from '../../utils/blocks.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { waitUntil } from '../../utils/wait.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addResource, chain, task } from '../../utils/workflows.js'
import { heldBytes } from '../../utils/held-memory.js'

const MB = 1_000_000

describe('a file only a peer holds', () => {
  let a: TestNode
  let b: TestNode
  let rsc: string

  beforeAll(async () => {
    a = await startTestNode()
    b = await startTestNode({ config: { network: { peers: [a.node.multiaddrs[0]] } } })
    await waitUntil(() => a.node.peerId in b.node.nodeInfo().dynamic.connections, 10_000, 'B connected to A')
    // the Wasm is on B: only the task's input is A's
    rsc = await addResource(b.httpUrl, await buildTestComponent())
  }, 60_000)

  afterAll(async () => {
    await closeBlockPeers()
    await b?.close()
    await a?.close()
  })

  it('200 MB: its task runs on the other node, which keeps little memory once it is done', async () => {
    const size = 200 * MB
    const file = await addResource(a.httpUrl, new Uint8Array(randomBytes(size)))
    const before = await heldBytes()

    const run = await collectRun(await b.client.runWorkflow({ tasks: [task(rsc, 'byte_length', [{ '/': file.slice('ipfs://'.length) }])] }), 180_000)
    expect(run.status.status).toBe('completed')
    expect(run.receipts.map(r => r.receipt.out)).toEqual([['ok', size]])

    // what a node holds once a task is done does not grow with its input: the fetch keeps a
    // bounded number of blocks in flight, and a file this large is not cached in memory
    const grown = await heldBytes() - before
    expect(grown).toBeLessThan(size / 4)
  }, 240_000)

  it('a peer that goes away mid-fetch fails the task with RESOURCE_UNAVAILABLE; the node stays up', async () => {
    const holder = await startHolder(new Uint8Array(randomBytes(4 * 1024 * 1024)), 64 * 1024, { stopAfterServing: 8 })
    const c = await startTestNode({ config: { network: { peers: [holder.network.multiaddrs()[0]] }, workflow: { retries: 1, retry_initial_delay_ms: 20, retry_max_delay_ms: 50 } } })
    try {
      await waitUntil(() => holder.network.peerId in c.node.nodeInfo().dynamic.connections, 10_000, 'C connected to the holder')
      const local = await addResource(c.httpUrl, await buildTestComponent())
      const run = await collectRun(await c.client.runWorkflow({ tasks: [task(local, 'byte_length', [{ '/': holder.root.toString() }])] }), 60_000)
      expect(run.status.status).toBe('failed')
      const [tag, error] = run.receipts[0].receipt.out as ['error', { code: string, message: string, attempts: number }]
      expect(tag).toBe('error')
      expect(error).toMatchObject({ code: 'RESOURCE_UNAVAILABLE', attempts: 2 })
      // the holder hangs up while blocks are on their way: the last attempt either saw the
      // exchange fail or found no peer left to ask
      expect(error.message).toMatch(new RegExp(`^resource ${holder.root.toString()} is not available: block \\w+(: peers: | is not in the local store and no other source can be asked now \\(no peer connected\\))`))
      expect(holder.served.size).toBeLessThan(holder.blockCount)

      expect((await c.client.health()).healthy).toBe(true)
      const next = await collectRun(await c.client.runWorkflow(chain(local, 2, 1)), 30_000)
      expect(next.receipts.map(r => r.receipt.out)).toEqual([['ok', 2], ['ok', 3]])
    } finally {
      await c.close()
    }
  }, 90_000)
})
