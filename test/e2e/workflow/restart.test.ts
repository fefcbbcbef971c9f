import { afterEach, describe, expect, it } from 'vitest'
import { collectRun, IpvmClient, isReceiptNotification, isStatusNotification, type RunNotification } from '../../../src/client/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, tempDir, type TestNode } from '../../utils/node.js'
import { addResource, task, workflowCid } from '../../utils/workflows.js'
import type { PartialConfig } from '../../../src/config/index.js'
import { awaitOkOf, delay, runStatus, sleepTask, sleepyChain, waitForStatus } from '../../utils/control.js'
import { waitUntil } from '../../utils/wait.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Starts nodes one after another on the same data folder (removed after the test). */
function sameFolder (config: PartialConfig = {}): () => Promise<TestNode> {
  const dir = tempDir()
  cleanups.push(dir.remove)
  return async () => {
    const t = await startTestNode({ dataDir: dir.dir, config })
    cleanups.push(t.stop)
    return t
  }
}

describe('runs across node restarts', () => {
  it('a paused run stays paused across a restart, can be re-attached to, and resumes without re-running a task', async () => {
    const start = sameFolder()
    const a = await start()
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    const wf = sleepyChain(rsc, 4, 0, 200)
    const cid = workflowCid(wf)
    const seen: RunNotification[] = []
    const stream = await a.client.runWorkflow(wf)
    void (async () => { for await (const n of stream) seen.push(n) })()
    // the first receipt waits for the component's first compile: seconds on a loaded machine
    await waitUntil(() => seen.some(isReceiptNotification), 60_000)
    await a.client.request('workflow_pause', [cid])
    await delay(400)
    const before = await runStatus(a.client, cid)
    expect(before.status).toBe('paused')
    await a.stop()
    // the node stopping sends no final status: the run is not over
    const statuses = seen.filter(isStatusNotification).map(n => n.workflow_status)
    expect(statuses.every(s => !s.final)).toBe(true)
    expect(statuses.at(-1)!.status).toBe('paused')

    const b = await start()
    const loaded = await runStatus(b.client, cid)
    expect(loaded).toMatchObject({ status: 'paused', restarts: 0, progress: before.progress, created_at: before.created_at })
    const again = await b.client.runWorkflow(wf)
    const history: RunNotification[] = []
    for (let i = 0; i < before.progress.receipts; i++) history.push(await again.nextWithin(5000))
    expect(history.every(n => isReceiptNotification(n) && n.metadata.replayed)).toBe(true)
    // paused: nothing more comes
    await expect(again.nextWithin(500)).rejects.toThrow(/no notification/)
    expect((await runStatus(b.client, cid)).progress.receipts).toBe(before.progress.receipts)

    await b.client.request('workflow_resume', { cid })
    const rest = await collectRun(again, 20_000)
    expect(rest.status).toMatchObject({ status: 'completed', tasks: { total: 7, replayed: before.progress.receipts, executed: 7 - before.progress.receipts } })
    const outs = [...history, ...rest.receipts].flatMap(n => isReceiptNotification(n) ? [n.receipt.out[1]] : [])
    expect(outs).toEqual([1, 1, 2, 2, 3, 3, 4])
  }, 120_000)

  it('durable sleeps that span a restart wake at their stored times, not a full sleep after the restart', async () => {
    const start = sameFolder()
    const a = await start()
    const rsc = await addResource(a.httpUrl, await buildTestComponent())
    // two sleeps side by side, with different wake times: each keeps its own
    const nap = sleepTask(4000, 41)
    const longNap = sleepTask(4600, 'long')
    const wf = { tasks: [nap, longNap, task(rsc, 'add_one', [awaitOkOf(nap)])] }
    const cid = workflowCid(wf)
    const watcher = await IpvmClient.connect(a.url)
    const watched: RunNotification[] = []
    const stream = await watcher.runWorkflow(wf)
    const ended = (async () => { for await (const n of stream) watched.push(n) })()
    const sleeping = await waitForStatus(a.client, cid, ['sleeping'])
    const wakeAt = sleeping.wake_at!
    expect(wakeAt).toBeGreaterThan(Date.now() + 3000)
    await delay(1000)
    await a.node.stop()
    await ended
    await watcher.close()
    await a.stop()
    // the subscriber saw the run go to sleep, and no final (and no "cancelled") status
    expect(watched.filter(isStatusNotification).map(n => [n.workflow_status.status, n.workflow_status.final])).toEqual([['sleeping', false]])

    const b = await start()
    const resumed = await runStatus(b.client, cid)
    expect(resumed).toMatchObject({ status: 'sleeping', wake_at: wakeAt, restarts: 0 })
    const again = await b.client.runWorkflow(wf)
    const woke = new Map<unknown, number>()
    const r = await collectRun(again, 20_000, n => {
      if (isReceiptNotification(n) && n.receipt.meta.op === 'ipvm/sleep') woke.set(n.receipt.out[1], Date.now())
    })
    expect(r.receipts.map(x => x.receipt.out).sort()).toEqual([['ok', 41], ['ok', 42], ['ok', 'long']].sort())
    expect(r.status).toMatchObject({ status: 'completed', tasks: { executed: 3 } })
    // the sleeps end at the stored wake times, not a whole duration after the restart: not
    // before them, and in the order first scheduled (how late a loaded machine wakes is not asserted)
    expect(woke.get(41)).toBeGreaterThanOrEqual(wakeAt - 20)
    expect(woke.get('long')).toBeGreaterThanOrEqual(wakeAt + 600 - 50)
    expect(woke.get('long')).toBeGreaterThanOrEqual(woke.get(41)!)
    const done = await runStatus(b.client, cid)
    expect(done).toMatchObject({ status: 'completed', restarts: 0 })
    expect(done.wake_at).toBeUndefined()
  }, 60_000)

  it('graceful restarts, more of them than workflow.max_restarts, never fail a run (crashes do: test/e2e/node/crash-resume.test.ts)', async () => {
    const start = sameFolder({ workflow: { max_restarts: 1 } })
    let t = await start()
    const wf = { tasks: [sleepTask(60_000, 'late')] }
    const cid = workflowCid(wf)
    const stream = await t.client.runWorkflow(wf)
    await waitForStatus(t.client, cid, ['sleeping'])
    await stream.close()
    for (let i = 0; i < 3; i++) {
      await t.stop()
      t = await start()
      expect(await runStatus(t.client, cid)).toMatchObject({ status: 'sleeping', restarts: 0 })
    }
    const page = await t.client.request<{ runs: Array<{ workflow: { '/': string } }> }>('workflow_list', { status: 'sleeping' })
    expect(page.runs.map(x => x.workflow['/'])).toContain(cid)
  }, 60_000)

  it('a cancelled run stays cancelled after a restart', async () => {
    const start = sameFolder()
    const a = await start()
    const wf = { tasks: [sleepTask(60_000)] }
    const cid = workflowCid(wf)
    const r = collectRun(await a.client.runWorkflow(wf), 20_000)
    await waitForStatus(a.client, cid, ['sleeping'])
    await a.client.request('workflow_cancel', [cid])
    expect((await r).status.status).toBe('cancelled')
    await a.stop()
    const b = await start()
    expect(await runStatus(b.client, cid)).toMatchObject({ status: 'cancelled', restarts: 0, error: { code: 'WORKFLOW_CANCELLED' } })
  }, 60_000)
})
