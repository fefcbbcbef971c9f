import { availableParallelism } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, IpvmClient, isStatusNotification, type RunNotification } from '../../../src/client/index.js'
import { randomNonce } from '../../../src/ipld/index.js'
import { buildTestCoreModule } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { addResource, task, workflowCid } from '../../utils/workflows.js'
import { runStatus, waitForStatus } from '../../utils/control.js'

describe('Wasm workers shared between runs', () => {
  let t: TestNode
  let rsc: string
  const clients: IpvmClient[] = []

  beforeAll(async () => {
    t = await startTestNode({ config: { workflow: { retries: 0, max_timeout_ms: 120_000 }, network: { enable: false } } })
    rsc = await addResource(t.httpUrl, await buildTestCoreModule())
  }, 60_000)
  afterAll(async () => {
    for (const c of clients) await c.close()
    await t.close()
  })

  it('two runs of endless tasks (meta.time 1e12) cannot keep a third client\'s 1-task workflow from completing', async () => {
    // each hostile run has more endless tasks than there are workers
    const endless = (): { tasks: ReturnType<typeof task>[] } => ({
      tasks: Array.from({ length: availableParallelism() + 1 }, () => task(rsc, 'spin', [], { time: 1e12 }, randomNonce()))
    })
    const hostile = [endless(), endless()]
    const ends: Array<Promise<RunNotification[]>> = []
    const finished: string[] = []
    for (const [i, wf] of hostile.entries()) {
      const client = await IpvmClient.connect(t.url)
      clients.push(client)
      const stream = await client.runWorkflow(wf, { name: `hostile-${i}` })
      ends.push((async () => {
        const seen: RunNotification[] = []
        for await (const n of stream) {
          seen.push(n)
          if (isStatusNotification(n) && n.workflow_status.final) {
            finished.push(`hostile-${i}`)
            break
          }
        }
        return seen
      })())
      await waitForStatus(t.client, workflowCid(wf), ['running'])
    }

    const normal = await IpvmClient.connect(t.url)
    clients.push(normal)
    const { status, receipts } = await collectRun(await normal.runWorkflow({ tasks: [task(rsc, 'add_one', [41])] }, { name: 'normal' }), 60_000)
    finished.push('normal')
    expect(status).toMatchObject({ status: 'completed', final: true })
    expect(receipts.map(r => r.receipt.out)).toEqual([['ok', 42]])
    // the hostile runs are still going: nothing of them ended before the normal run
    expect(finished).toEqual(['normal'])
    for (const wf of hostile) expect((await runStatus(t.client, workflowCid(wf))).status).toBe('running')

    // cancelling them ends their endless calls
    for (const wf of hostile) expect((await t.client.request<{ status: string }>('workflow_cancel', [workflowCid(wf)])).status).toBe('cancelled')
    const notes = await Promise.all(ends)
    expect(finished.slice(1).sort()).toEqual(['hostile-0', 'hostile-1'])
    for (const seen of notes) expect(seen.filter(isStatusNotification).at(-1)?.workflow_status).toMatchObject({ status: 'cancelled', final: true })
  }, 120_000)
})
