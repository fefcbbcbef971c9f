import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { IpvmClient, isReceiptNotification } from '../../../src/client/index.js'
import { tempDir } from '../../utils/node.js'
import { startNodeProcess as startNode, stopNodeProcess, type NodeProcess } from '../../utils/node-process.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addResource, workflowCid } from '../../utils/workflows.js'
import { instructionOf, runStatus, sleepTask, sleepyChain, waitForStatus, type RunJson } from '../../utils/control.js'
import { waitUntil } from '../../utils/wait.js'

const children: ChildProcess[] = []
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

async function startNodeProcess (dir: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  return await startNode(dir, children, env)
}

/** Wasm executions of add_one in a node's log: the guest logs "add_one" each time it runs. */
function addOneExecutions (log: string): number {
  return log.split('\n').filter(line => {
    if (line.trim() === '') return false
    const entry = JSON.parse(line) as { subject?: string, msg?: string }
    return entry.subject === 'wasm_execution' && entry.msg === 'add_one'
  }).length
}

describe('a node killed in the middle of a workflow', () => {
  it('resumes the run on restart: every task executes exactly once and all its receipts are stored', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const first = await startNodeProcess(dir.dir)
    const rsc = await addResource(`http://127.0.0.1:${first.port}`, await buildTestComponent())
    // 20 add_one tasks with a 300 ms sleep between each two: 39 tasks, and a quiet moment after each add_one
    const wf = sleepyChain(rsc, 20, 0, 300)
    const cid = workflowCid(wf)

    const client = await IpvmClient.connect(`ws://127.0.0.1:${first.port}`)
    const stream = await client.runWorkflow(wf, { name: 'crash' })
    for (;;) {
      const n = await stream.nextWithin(20_000)
      // the 10th add_one has its receipt; its sleep has just begun: kill the node now
      if (isReceiptNotification(n) && n.receipt.meta.op === 'add_one' && n.receipt.out[1] === 10) break
    }
    first.child.kill('SIGKILL')
    await first.exited
    await client.close()
    const before = addOneExecutions(first.stderr())
    expect(before).toBeGreaterThanOrEqual(10)
    expect(before).toBeLessThan(20)

    const second = await startNodeProcess(dir.dir)
    cleanups.push(async () => {
      if (second.child.exitCode === null) {
        second.child.kill('SIGTERM')
        await second.exited
      }
    })
    const again = await IpvmClient.connect(`ws://127.0.0.1:${second.port}`)
    cleanups.push(async () => { await again.close() })
    let status: RunJson | undefined
    await waitUntil(async () => {
      status = await again.request<RunJson>('workflow_status', [cid])
      return status.status === 'completed'
    }, 30_000, 'the run to complete', 50)
    expect(status).toMatchObject({ name: 'crash', status: 'completed', restarts: 1, progress: { receipts: 39, tasks: 39 } })
    expect(second.stderr()).toContain('resuming workflow run')

    // each of the 20 add_one calls ran once, over both processes
    expect(before + addOneExecutions(second.stderr())).toBe(20)

    const receipts = await again.request<Array<{ receipt_cid: { '/': string }, instruction: { '/': string }, receipt: { out: [string, unknown], meta: { op: string } } }>>('workflow_receipts', [cid])
    expect(receipts).toHaveLength(39)
    expect(new Set(receipts.map(r => r.receipt_cid['/'])).size).toBe(39)
    expect(new Set(receipts.map(r => r.instruction['/']))).toEqual(new Set(wf.tasks.map(instructionOf)))
    const adds = wf.tasks.filter(t => t.run.op === 'wasm/run')
    for (const [i, t] of adds.entries()) {
      const r = await again.request<{ receipt: { out: [string, unknown] } }>('receipt_get', [instructionOf(t)])
      expect(r.receipt.out).toEqual(['ok', i + 1])
    }
  }, 120_000)

  it('only crashes count against workflow.max_restarts: SIGTERM restarts never fail a sleeping run, SIGKILLs do', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const env = { IPVM_WORKFLOW__MAX_RESTARTS: '1' }
    const wf = { tasks: [sleepTask(3_600_000, 'late')] }
    const cid = workflowCid(wf)
    let node = await startNodeProcess(dir.dir, env)
    let client = await IpvmClient.connect(`ws://127.0.0.1:${node.port}`)
    const stream = await client.runWorkflow(wf, { name: 'nap' })
    await waitForStatus(client, cid, ['sleeping'])
    await stream.close()
    const restart = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<RunJson> => {
      await client.close()
      await stopNodeProcess(node, signal)
      node = await startNodeProcess(dir.dir, env)
      client = await IpvmClient.connect(`ws://127.0.0.1:${node.port}`)
      return await runStatus(client, cid)
    }
    cleanups.push(async () => {
      await client.close()
      await stopNodeProcess(node, 'SIGTERM')
    })
    // four ordinary restarts, more than max_restarts allows crashes
    for (let i = 0; i < 4; i++) expect(await restart('SIGTERM')).toMatchObject({ status: 'sleeping', restarts: 0 })
    expect(node.stderr()).toContain('"after":"clean stop"')
    // the first crash is resumed and counted
    expect(await restart('SIGKILL')).toMatchObject({ status: 'sleeping', restarts: 1 })
    // ordinary restarts after it still do not count
    expect(await restart('SIGTERM')).toMatchObject({ status: 'sleeping', restarts: 1 })
    // the second crash is one more than max_restarts: the run is failed, not resumed
    const failed = await restart('SIGKILL')
    expect(failed).toMatchObject({ status: 'failed', restarts: 1, error: { code: 'WORKFLOW_RESTARTS_EXCEEDED' } })
    expect(failed.wake_at).toBeUndefined()
  }, 180_000)
})
