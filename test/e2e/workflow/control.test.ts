import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, IpvmClient, isReceiptNotification, isStatusNotification, RpcClientError, type RunNotification } from '../../../src/client/index.js'
import { OpenRpc } from '../../../src/rpc/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { addResource, chain, task, workflowCid } from '../../utils/workflows.js'
import { awaitOkOf, delay, instructionOf, runStatus, sleepTask, sleepUntilTask, sleepyChain, waitForStatus, type RunJson } from '../../utils/control.js'
import { waitUntil } from '../../utils/wait.js'

const openrpc = new OpenRpc()
const validateStatus = openrpc.ajv.getSchema('workflow_status_notification.json')!
const UNKNOWN = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'

async function rpcError (p: Promise<unknown>): Promise<RpcClientError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(RpcClientError)
  return err as RpcClientError
}

/** Reads notifications into `seen` as they come (the stream keeps going in the background). */
function record (stream: AsyncIterable<RunNotification>, seen: Array<{ at: number, n: RunNotification }>): Promise<void> {
  return (async () => {
    for await (const n of stream) {
      seen.push({ at: Date.now(), n })
      if (isStatusNotification(n) && n.workflow_status.final) return
    }
  })()
}

describe('workflow control', () => {
  let t: TestNode
  let rsc: string

  beforeAll(async () => {
    t = await startTestNode({ config: { workflow: { retries: 0 } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 60_000)
  afterAll(async () => { await t.close() })

  it('workflow_status of an unknown workflow is -32004 WORKFLOW_NOT_FOUND; a bad CID is -32602', async () => {
    const e1 = await rpcError(t.client.request('workflow_status', [UNKNOWN]))
    expect(e1.code).toBe(-32004)
    expect(e1.nodeCode).toBe('WORKFLOW_NOT_FOUND')
    const e2 = await rpcError(t.client.request('workflow_status', { cid: { '/': UNKNOWN } }))
    expect(e2.nodeCode).toBe('WORKFLOW_NOT_FOUND')
    const e3 = await rpcError(t.client.request('workflow_status', ['not-a-cid']))
    expect(e3.code).toBe(-32602)
    const e4 = await rpcError(t.client.request('workflow_status', []))
    expect(e4.code).toBe(-32602)
    for (const method of ['workflow_cancel', 'workflow_pause', 'workflow_resume', 'workflow_receipts']) {
      expect((await rpcError(t.client.request(method, [UNKNOWN]))).nodeCode).toBe('WORKFLOW_NOT_FOUND')
    }
    const e5 = await rpcError(t.client.request('receipt_get', [UNKNOWN]))
    expect(e5.code).toBe(-32004)
    expect(e5.nodeCode).toBe('WORKFLOW_RECEIPT_NOT_FOUND')
    expect(await t.client.health()).toEqual({ healthy: true })
  })

  it('a finished run: status with times and progress, its receipts in order, each receipt by receipt CID and by instruction CID', async () => {
    const wf = chain(rsc, 3, 70)
    const cid = workflowCid(wf)
    const before = Date.now()
    const r = await collectRun(await t.client.runWorkflow(wf, { name: 'three' }), 20_000)
    const status = await t.client.request<RunJson>('workflow_status', { cid })
    expect(status).toMatchObject({ workflow: { '/': cid }, name: 'three', status: 'completed', progress: { receipts: 3, tasks: 3 }, retries: 0, restarts: 0 })
    expect(status.created_at).toBeGreaterThanOrEqual(before - 5)
    expect(status.updated_at).toBeGreaterThanOrEqual(status.created_at)
    expect(status.error).toBeUndefined()

    const receipts = await t.client.request<any[]>('workflow_receipts', [{ '/': cid }])
    expect(receipts.map(x => x.receipt_cid['/'])).toEqual(r.receipts.map(x => x.receipt_cid['/']))
    expect(receipts.map(x => x.instruction['/'])).toEqual(wf.tasks.map(instructionOf))
    for (const [i, x] of receipts.entries()) {
      expect(x.receipt).toEqual(r.receipts[i].receipt)
      expect(x.receipt.ran['/']).toMatch(/^bafyrmi/)
      // computed here, vouched for by no peer
      expect(x.provenance).toEqual({ computed_here: true, vouched_by: [] })
      const byReceipt = await t.client.request<any>('receipt_get', [x.receipt_cid['/']])
      expect(byReceipt).toEqual({ receipt_cid: x.receipt_cid, receipt: x.receipt, provenance: x.provenance })
      const byInstruction = await t.client.request<any>('receipt_get', { cid: x.instruction })
      expect(byInstruction).toEqual(x)
    }
    expect(receipts.map(x => x.receipt.out)).toEqual([['ok', 71], ['ok', 72], ['ok', 73]])
  })

  it('pause: running tasks finish, none starts until resume; both are announced (final: false) after being stored', async () => {
    const wf = sleepyChain(rsc, 6, 0, 150)
    const cid = workflowCid(wf)
    const seen: Array<{ at: number, n: RunNotification }> = []
    const done = record(await t.client.runWorkflow(wf), seen)
    await waitUntil(() => seen.some(s => isReceiptNotification(s.n)), 30_000)
    const paused = await t.client.request<RunJson>('workflow_pause', [cid])
    expect(paused.status).toBe('paused')
    await waitUntil(() => seen.some(s => isStatusNotification(s.n) && s.n.workflow_status.status === 'paused'), 30_000)
    // what was in flight (at most the sleep after the first add_one) ends; then nothing moves
    await delay(400)
    const p1 = (await runStatus(t.client, cid)).progress.receipts
    const receiptsAt = seen.filter(s => isReceiptNotification(s.n)).length
    await delay(700)
    const p2 = await runStatus(t.client, cid)
    expect(p2.status).toBe('paused')
    expect(p2.progress.receipts).toBe(p1)
    expect(p1).toBeLessThanOrEqual(3)
    expect(seen.filter(s => isReceiptNotification(s.n)).length).toBe(receiptsAt)
    expect((await rpcError(t.client.request('workflow_pause', [cid]))).nodeCode).toBe('WORKFLOW_STATE')

    const resumed = await t.client.request<RunJson>('workflow_resume', [cid])
    expect(['running', 'sleeping']).toContain(resumed.status)
    await done
    const statuses = seen.flatMap(s => isStatusNotification(s.n) ? [s.n] : [])
    for (const s of statuses) expect(validateStatus(s), JSON.stringify(validateStatus.errors)).toBe(true)
    const sequence = statuses.map(s => s.workflow_status.status)
    expect(sequence).toContain('sleeping')
    const pausedAt = sequence.indexOf('paused')
    expect(['running', 'sleeping']).toContain(sequence[pausedAt + 1])
    expect(statuses.slice(0, -1).every(s => !s.workflow_status.final)).toBe(true)
    expect(statuses.at(-1)!.workflow_status).toMatchObject({ status: 'completed', final: true, tasks: { total: 11, executed: 11 } })
    const outs = seen.flatMap(s => isReceiptNotification(s.n) ? [s.n.receipt.out[1]] : [])
    expect(outs.filter(o => typeof o === 'number')).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6])
    expect((await rpcError(t.client.request('workflow_resume', [cid]))).nodeCode).toBe('WORKFLOW_STATE')
  }, 90_000)

  it('cancel terminates a spinning task at once and ends the run with a final cancelled status', async () => {
    const wf = { tasks: [task(rsc, 'spin', [], { time: 60_000 })] }
    const cid = workflowCid(wf)
    const seen: Array<{ at: number, n: RunNotification }> = []
    const done = record(await t.client.runWorkflow(wf), seen)
    await waitForStatus(t.client, cid, ['running'])
    // the task spins for up to 60 s (meta.time): only terminating its worker ends it sooner,
    // and the test's own time limit is far below that
    const cancelled = await t.client.request<RunJson>('workflow_cancel', [cid])
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { code: 'WORKFLOW_CANCELLED' } })
    await done
    const last = seen.at(-1)!.n
    expect(isStatusNotification(last) && last.workflow_status).toMatchObject({ status: 'cancelled', final: true })
    expect(seen.filter(s => isReceiptNotification(s.n))).toHaveLength(0)
    const e = await rpcError(t.client.request('workflow_cancel', [cid]))
    expect(e.code).toBe(-32009)
    expect(e.nodeCode).toBe('WORKFLOW_STATE')
    // the node goes on running workflows
    expect((await collectRun(await t.client.runWorkflow(chain(rsc, 1, 900)), 20_000)).status.status).toBe('completed')
  })

  it('finished runs refuse pause, resume and cancel with -32009 WORKFLOW_STATE', async () => {
    const wf = chain(rsc, 1, 300)
    await collectRun(await t.client.runWorkflow(wf), 20_000)
    for (const method of ['workflow_pause', 'workflow_resume', 'workflow_cancel']) {
      const e = await rpcError(t.client.request(method, { cid: workflowCid(wf) }))
      expect(e.code).toBe(-32009)
      expect(e.nodeCode).toBe('WORKFLOW_STATE')
    }
  })

  it('a second subscriber to a run in progress re-attaches: the history, then live, to the same end', async () => {
    const wf = sleepyChain(rsc, 4, 100, 200)
    const first = await t.client.runWorkflow(wf)
    const a: Array<{ at: number, n: RunNotification }> = []
    const doneA = record(first, a)
    await waitUntil(() => a.filter(s => isReceiptNotification(s.n)).length >= 2, 30_000)
    const other = await IpvmClient.connect(t.url)
    try {
      const b = await collectRun(await other.runWorkflow(wf), 20_000)
      await doneA
      const receiptsA = a.flatMap(s => isReceiptNotification(s.n) ? [s.n] : [])
      expect(b.receipts.map(r => r.receipt_cid['/'])).toEqual(receiptsA.map(r => r.receipt_cid['/']))
      expect(b.receipts).toHaveLength(7)
      expect(b.receipts.every(r => !r.metadata.replayed)).toBe(true)
      expect(b.status).toMatchObject({ status: 'completed', tasks: { executed: 7, replayed: 0 } })
    } finally {
      await other.close()
    }
  }, 90_000)

  it('workflow_list pages newest first without skipping or repeating, and filters by status', async () => {
    const cids: string[] = []
    for (let i = 0; i < 5; i++) {
      const wf = chain(rsc, 1, 5000 + i)
      await collectRun(await t.client.runWorkflow(wf), 20_000)
      cids.push(workflowCid(wf))
    }
    const all: RunJson[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await t.client.request<{ runs: RunJson[], cursor?: string }>('workflow_list', { limit: 2, ...(cursor !== undefined ? { cursor } : {}) })
      expect(page.runs.length).toBeLessThanOrEqual(2)
      all.push(...page.runs)
      cursor = page.cursor
      pages++
    } while (cursor !== undefined && pages < 100)
    const listed = all.map(r => r.workflow['/'])
    expect(new Set(listed).size).toBe(listed.length)
    for (const cid of cids) expect(listed).toContain(cid)
    // newest first: ours were created in order, so they come last-created-first
    expect(listed.filter(c => cids.includes(c))).toEqual([...cids].reverse())
    for (let i = 1; i < all.length; i++) expect(all[i].created_at).toBeLessThanOrEqual(all[i - 1].created_at)

    const completed = await t.client.request<{ runs: RunJson[] }>('workflow_list', { status: 'completed', limit: 1000 })
    expect(completed.runs.every(r => r.status === 'completed')).toBe(true)
    for (const cid of cids) expect(completed.runs.map(r => r.workflow['/'])).toContain(cid)
    const byPosition = await t.client.request<{ runs: RunJson[] }>('workflow_list', ['paused', 10])
    expect(byPosition.runs.every(r => r.status === 'paused')).toBe(true)
    const bad = await rpcError(t.client.request('workflow_list', { cursor: 'garbage!' }))
    expect(bad.code).toBe(-32602)
  })

  it('ipvm/sleep: a receipt ["ok", value] with meta.op ipvm/sleep, the same for the same instruction; bad inputs are refused', async () => {
    const first = task(rsc, 'add_one', [10])
    const nap = sleepTask(50, awaitOkOf(first))
    const after = task(rsc, 'add_one', [awaitOkOf(nap)])
    const r = await collectRun(await t.client.runWorkflow({ tasks: [first, nap, after] }), 20_000)
    expect(r.receipts.map(x => x.receipt.out)).toEqual([['ok', 11], ['ok', 11], ['ok', 12]])
    expect(r.receipts[1].receipt.meta).toEqual({ op: 'ipvm/sleep' })
    // the same sleep in another workflow is replayed: same receipt CID
    const again = await collectRun(await t.client.runWorkflow({ tasks: [first, nap] }), 20_000)
    expect(again.receipts[1].receipt_cid).toEqual(r.receipts[1].receipt_cid)
    expect(again.receipts[1].metadata.replayed).toBe(true)

    const past = await collectRun(await t.client.runWorkflow({ tasks: [sleepUntilTask(Date.now() - 1000, 'x')] }), 20_000)
    expect(past.receipts[0].receipt.out).toEqual(['ok', 'x'])
    const plain = await collectRun(await t.client.runWorkflow({ tasks: [sleepTask(1, undefined, '')] }), 20_000)
    expect(plain.receipts[0].receipt.out).toEqual(['ok', null])

    for (const input of [{ duration_ms: -1 }, {}, { duration_ms: 1, until: 2 }, { duration_ms: 1, extra: true }, { until: 'soon' }]) {
      const wf = { tasks: [{ ...sleepTask(1), run: { ...sleepTask(1).run, input } }] }
      const e = await rpcError(t.client.runWorkflow(wf))
      expect(e.code).toBe(-32602)
    }
  })
})

describe('run slots (workflow.max_runs = 1)', () => {
  let t: TestNode
  let rsc: string

  beforeAll(async () => {
    t = await startTestNode({ config: { workflow: { retries: 0, max_runs: 1 } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
    // the first call prepares the component: keep that out of the tests' timing
    await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'add_one', [-1])] }), 30_000)
  }, 60_000)
  afterAll(async () => { await t.close() })

  it('a sleeping run gives its place to another run, and takes one again when it wakes', async () => {
    const nap = sleepTask(1500, 10)
    const sleeper = { tasks: [nap, task(rsc, 'add_one', [awaitOkOf(nap)])] }
    const finished: string[] = []
    const sleeperDone = collectRun(await t.client.runWorkflow(sleeper), 20_000).then(r => { finished.push('sleeper'); return r })
    await waitForStatus(t.client, workflowCid(sleeper), ['sleeping'])
    const other = await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'add_one', [500])] }), 20_000)
    finished.push('other')
    expect(other.status.status).toBe('completed')
    const first = await sleeperDone
    // had the sleeper kept the only slot, the other run could only have started after it ended
    expect(finished).toEqual(['other', 'sleeper'])
    expect(first.status.status).toBe('completed')
    expect(first.receipts.map(r => r.receipt.out)).toEqual([['ok', 10], ['ok', 11]])
  }, 30_000)

  it('a paused run gives its place to another run until it is resumed', async () => {
    const nap = sleepTask(400, 20)
    const paused = { tasks: [nap, task(rsc, 'add_one', [awaitOkOf(nap)])] }
    const cid = workflowCid(paused)
    const pausedDone = collectRun(await t.client.runWorkflow(paused), 20_000)
    await waitForStatus(t.client, cid, ['sleeping'])
    await t.client.request('workflow_pause', [cid])
    await delay(600) // the sleep ends while paused; its follower does not start
    const other = await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'add_one', [600])] }), 20_000)
    expect(other.status.status).toBe('completed')
    expect(await runStatus(t.client, cid)).toMatchObject({ status: 'paused', progress: { receipts: 1 } })
    await t.client.request('workflow_resume', [cid])
    const r = await pausedDone
    expect(r.status.status).toBe('completed')
    expect(r.receipts.map(x => x.receipt.out)).toEqual([['ok', 20], ['ok', 21]])
  }, 30_000)
})
