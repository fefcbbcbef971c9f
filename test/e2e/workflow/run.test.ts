import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, type RpcClientError, type RunNotification } from '../../../src/client/index.js'
import { encode, parseJson } from '../../../src/ipld/index.js'
import { OpenRpc } from '../../../src/rpc/index.js'
import { buildTestComponent, buildTestCoreModule } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { addOneFixture, addResource, chain, task, awaitOk, workflowCid } from '../../utils/workflows.js'

const openrpc = new OpenRpc()
const validateReceiptNotification = openrpc.ajv.getSchema('receipt_notification.json')!
const validateStatusNotification = openrpc.ajv.getSchema('workflow_status_notification.json')!

function checkShapes (notifications: RunNotification[]): void {
  for (const n of notifications) {
    const validate = 'workflow_status' in n ? validateStatusNotification : validateReceiptNotification
    expect(validate(n), JSON.stringify(validate.errors)).toBe(true)
  }
}

describe('running workflows', () => {
  let t: TestNode
  let rsc: string
  let coreRsc: string

  beforeAll(async () => {
    t = await startTestNode({ config: { workflow: { retries: 2, retry_initial_delay_ms: 10, retry_max_delay_ms: 50 } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
    coreRsc = await addResource(t.httpUrl, await buildTestCoreModule())
  }, 60_000)
  afterAll(async () => { await t.close() })

  it('runs Homestar\'s add-one workflow: receipts 2 then 3, then a completed status', async () => {
    const text = addOneFixture(rsc)
    const seen: RunNotification[] = []
    const result = await collectRun(await t.client.runWorkflow(text, { name: 'add-one' }), 30_000, n => seen.push(n))
    expect(result.receipts.map(r => r.receipt.out)).toEqual([['ok', 2], ['ok', 3]])
    expect(result.receipts.map(r => r.metadata.replayed)).toEqual([false, false])
    for (const r of result.receipts) {
      expect(r.receipt.meta).toEqual({ op: 'add_one' })
      expect(r.receipt.iss).toBeNull()
      expect(r.receipt.prf).toEqual([])
      expect(r.metadata.name).toBe('add-one')
      expect(r.metadata.workflow['/']).toBe(workflowCid(text))
      expect(r.receipt_cid['/']).toMatch(/^bafyrmi/)
    }
    expect(result.status).toMatchObject({ status: 'completed', final: true, tasks: { total: 2, executed: 2, replayed: 0, failed: 0, skipped: 0 } })
    checkShapes(seen)
  })

  it('replays a finished workflow from its receipts, 100 times in a row, without losing a notification', async () => {
    const text = addOneFixture(rsc)
    const first = await collectRun(await t.client.runWorkflow(text), 30_000)
    const cids = first.receipts.map(r => r.receipt_cid['/'])
    for (let i = 0; i < 100; i++) {
      const again = await collectRun(await t.client.runWorkflow(text, { name: `replay-${i}` }), 10_000)
      expect(again.receipts.map(r => r.receipt_cid['/'])).toEqual(cids)
      expect(again.receipts.every(r => r.metadata.replayed && r.metadata.name === `replay-${i}`)).toBe(true)
      expect(again.status).toMatchObject({ status: 'completed', tasks: { replayed: 2, executed: 0 } })
    }
  }, 60_000)

  it('takes {name, workflow} by name and the DAG-CBOR bytes form too', async () => {
    const wf = chain(rsc, 2, 100)
    const byName = await t.client.subscribe<RunNotification>('subscribe_run_workflow', { name: 'by-name', workflow: wf, options: { status: true } }, 'unsubscribe_run_workflow')
    const a = await collectRun(byName, 20_000)
    expect(a.receipts.map(r => r.receipt.out)).toEqual([['ok', 101], ['ok', 102]])
    const bytes = Array.from(encode({ name: 'bytes', workflow: parseJson(JSON.stringify(wf)) }))
    const b = await collectRun(await t.client.subscribe<RunNotification>('subscribe_run_workflow', [bytes, { status: true }], 'unsubscribe_run_workflow'), 20_000)
    expect(b.receipts.map(r => r.receipt_cid['/'])).toEqual(a.receipts.map(r => r.receipt_cid['/']))
    expect(b.receipts[0].metadata.name).toBe('bytes')
  })

  it('independent tasks run in parallel and a task runs only after what it awaits', async () => {
    const a = task(rsc, 'add_one', [1000])
    const b = task(rsc, 'add_one', [2000])
    const c = task(rsc, 'join_strings', ['x', 'y'])
    const d = task(rsc, 'add_one', [awaitOk(a)])
    const r = await collectRun(await t.client.runWorkflow({ tasks: [d, a, b, c] }), 20_000)
    const outs = r.receipts.map(x => x.receipt.out[1])
    expect(outs).toContain(1001)
    expect(outs).toContain(2001)
    expect(outs).toContain('xy')
    expect(outs.indexOf(1002)).toBeGreaterThan(outs.indexOf(1001))
    expect(r.status.status).toBe('completed')
  })

  it('runs plain core modules', async () => {
    const r = await collectRun(await t.client.runWorkflow(chain(coreRsc, 3, 7)), 20_000)
    expect(r.receipts.map(x => x.receipt.out)).toEqual([['ok', 8], ['ok', 9], ['ok', 10]])
  })

  it('a trap ends in an error receipt after the retries and a failed status; tasks awaiting it are skipped', async () => {
    const trap = task(rsc, 'trap', [])
    const after = task(rsc, 'add_one', [awaitOk(trap)])
    const seen: RunNotification[] = []
    const r = await collectRun(await t.client.runWorkflow({ tasks: [trap, after] }), 20_000, n => seen.push(n))
    expect(r.receipts).toHaveLength(1)
    const [tag, error] = r.receipts[0].receipt.out as ['error', { code: string, message: string, attempts: number }]
    expect(tag).toBe('error')
    expect(error).toMatchObject({ code: 'RUNTIME_TRAP', attempts: 3 })
    expect(r.status).toMatchObject({ status: 'failed', tasks: { failed: 1, skipped: 1 }, retries: 2 })
    expect(r.status.error?.code).toBe('RUNTIME_TRAP')
    checkShapes(seen)
    expect(await t.client.health()).toEqual({ healthy: true })
  })

  it('a timeout (meta.time) and an infinite loop fail after the retries while the node serves other workflows', async () => {
    const spin = task(rsc, 'spin', [], { time: 150 })
    const spinning = t.client.runWorkflow({ tasks: [spin] }).then(async s => await collectRun(s, 20_000))
    // meanwhile, other work completes and the node answers
    const other = await collectRun(await t.client.runWorkflow(chain(rsc, 3, 500)), 20_000)
    expect(other.status.status).toBe('completed')
    expect(await t.client.health()).toEqual({ healthy: true })
    const r = await spinning
    expect(r.receipts[0].receipt.out[0]).toBe('error')
    expect(r.receipts[0].receipt.out[1]).toMatchObject({ code: 'RUNTIME_TIMEOUT', attempts: 3 })
    expect(r.status.status).toBe('failed')
  })

  it('errors that cannot succeed on retry are not retried', async () => {
    const r = await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'no_such_function', [1])] }), 20_000)
    expect(r.receipts[0].receipt.out[1]).toMatchObject({ code: 'RUNTIME_FUNCTION_NOT_FOUND', attempts: 1 })
    expect(r.status.retries).toBe(0)
  })

  it('a missing resource no source can provide (no Kubo, gateway or peer) fails the task at once, naming ipvm add', async () => {
    const missing = 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka'
    const r = await collectRun(await t.client.runWorkflow({ tasks: [task(missing, 'add_one', [1])] }), 20_000)
    expect(r.receipts[0].receipt.out[1]).toMatchObject({ code: 'RESOURCE_UNAVAILABLE', attempts: 1 })
    expect((r.receipts[0].receipt.out[1] as { message: string }).message).toContain('ipvm add FILE')
    expect(r.status).toMatchObject({ status: 'failed', retries: 0 })
  })

  it('bad workflows are refused with -32602 and a data field saying what is wrong', async () => {
    const dup = task(rsc, 'add_one', [1])
    const e1 = await t.client.runWorkflow({ tasks: [dup, dup] }).catch((e: unknown) => e) as RpcClientError
    expect(e1.code).toBe(-32602)
    expect(e1.nodeCode).toBe('WORKFLOW_INVALID_DUPLICATE_TASK')
    expect((e1.data as { message: string }).message).toContain('nonce')

    const orphan = task(rsc, 'add_one', [{ 'await/ok': { '/': 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du' } }])
    const e2 = await t.client.runWorkflow({ tasks: [orphan] }).catch((e: unknown) => e) as RpcClientError
    expect(e2.code).toBe(-32602)
    expect(e2.nodeCode).toBe('WORKFLOW_INVALID_UNKNOWN_AWAIT')

    const e3 = await t.client.runWorkflow({ tasks: [{ run: { op: 'wasm/run' } }] }).catch((e: unknown) => e) as RpcClientError
    expect(e3.code).toBe(-32602)
    expect((e3.data as { issues: unknown[] }).issues.length).toBeGreaterThan(0)

    const e4 = await t.client.request('subscribe_run_workflow', []).catch((e: unknown) => e) as RpcClientError
    expect(e4.code).toBe(-32602)
    expect(await t.client.health()).toEqual({ healthy: true })
  })

  it('subscriptions need a WebSocket: over HTTP the answer is an error, not a crash', async () => {
    const res = await fetch(`${t.httpUrl}/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe_run_workflow', params: [{ workflow: chain(rsc, 1, 1) }] }) })
    expect((await res.json()).error).toMatchObject({ code: -32001, data: { code: 'RPC_SUBSCRIPTION_NEEDS_WEBSOCKET' } })
  })

  it('unsubscribe answers true once, then false', async () => {
    const s = await t.client.runWorkflow(chain(rsc, 1, 4242))
    expect(await t.client.request('unsubscribe_run_workflow', [s.id])).toBe(true)
    expect(await t.client.request('unsubscribe_run_workflow', [s.id])).toBe(false)
  })
})
