import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encode } from '../../../src/ipld/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { httpOnce } from '../../utils/http.js'
import { seriesValue } from '../../utils/read-series.js'
import { frameText, type RawSocket } from '../../utils/ws.js'
import { addResource, awaitOk, task, workflowCid } from '../../utils/workflows.js'
import { EventLog, hostileNode, HOSTILE_ADDRESSES, MISSING_RSC, hostileSocket, JSON_WITH_STATUS, runRequest, tinyTask, until } from './helpers.js'

/**
 * One hostile request (or message) at a time, each refused or absorbed with a clear error,
 * while a probe's `health` and a normal client's 1-task workflow, from another address, are
 * served. The node runs with default limits (8 MiB frames, 10 000 tasks, 64 levels).
 */
describe('hostile requests', { timeout: 90_000 }, () => {
  let start = 1000
  // one client sends every bomb: the request budget, which charges a workflow by its tasks and
  // has tests of its own, would refuse the bombs after the first before the checks under test see them
  const h = hostileNode({ max_requests_per_second: 0 })

  async function hostile (address?: string): Promise<RawSocket> {
    const s = await hostileSocket(h.t.url, address)
    h.sockets.push(s)
    return s
  }

  const started = async (): Promise<number> => await seriesValue(h.t.node.registry, 'ipvm_workflows_started_total') ?? 0

  it('a workflow of 50 000 tasks (a 5 MB frame) is refused from its text, -32005 WORKFLOW_TOO_LARGE; nothing runs', async () => {
    const s = await hostile()
    const before = await started()
    const log = new EventLog()
    s.send(JSON.stringify(runRequest(1, [{ name: 'bomb', workflow: { tasks: Array.from({ length: 50_000 }, (_, i) => tinyTask(i)) } }])))
    const [answer] = await Promise.all([s.next(30_000), h.bystanders.serve(log, start++)])
    expect(answer).toMatchObject({ id: 1, error: { code: -32005, data: { code: 'WORKFLOW_TOO_LARGE', limit: 10_000, tasks: 50_000 } } })
    expect(await started()).toBe(before + 1) // the normal client's run only
  })

  it('10 000 invalid tasks (within the limit) are refused with -32602 and the first of what is wrong', async () => {
    const s = await hostile()
    const log = new EventLog()
    const bad = { run: { rsc: 'ipfs://x', op: 'wasm/run', input: { func: 'f', args: Array.from({ length: 30 }, () => ({ 'await/ok': 1 })) }, nnc: '' }, meta: {}, prf: [] }
    s.send(JSON.stringify(runRequest(2, [{ workflow: { tasks: Array.from({ length: 10_000 }, () => bad) } }])))
    const [answer] = await Promise.all([s.next(30_000), h.bystanders.serve(log, start++)])
    expect(answer).toMatchObject({ id: 2, error: { code: -32602, data: { code: 'RPC_INVALID_PARAMS' } } })
    expect(answer.error.data.issues.length).toBeGreaterThan(0)
    expect(answer.error.data.issues.length).toBeLessThanOrEqual(100)
    expect(answer.error.data.issues[0].path).toMatch(/^\/run\/workflow\/tasks\/0\//)
  })

  it('a 4 MiB run name is refused with -32602 at /run/name, in the JSON and the DAG-CBOR forms; nothing runs', async () => {
    const s = await hostile()
    const before = await started()
    const log = new EventLog()
    const workflow = { tasks: [task(MISSING_RSC, 'add_one', [1])] }
    const name = 'n'.repeat(4 * 1024 * 1024)
    s.send(JSON.stringify(runRequest(3, [{ name, workflow }])))
    const [json] = await Promise.all([s.next(30_000), h.bystanders.serve(log, start++)])
    expect(json).toMatchObject({ id: 3, error: { code: -32602, data: { issues: [{ path: '/run/name', message: 'must NOT have more than 256 characters' }] } } })
    // the bytes form, DAG-CBOR of {name, workflow} (1 MiB of name: 4 JSON characters a byte)
    const cbor = encode({ name: 'n'.repeat(1024 * 1024), workflow: { tasks: [{ run: { rsc: MISSING_RSC, op: 'wasm/run', input: { func: 'add_one', args: [1] }, nnc: '' }, meta: {}, prf: [], cause: null }] } })
    s.send(JSON.stringify(runRequest(4, [Array.from(cbor)])))
    expect(await s.next(30_000)).toMatchObject({ id: 4, error: { code: -32602, data: { issues: [{ path: '/run/name' }] } } })
    expect(await started()).toBe(before + 1)
  })

  it('DAG-CBOR params nested 3 500 deep are refused with -32600 RPC_JSON_TOO_DEEP, as deep JSON is', async () => {
    const s = await hostile()
    const log = new EventLog()
    // {name: "x", workflow: [[[…]]]}: a map, two keys, then 3 500 arrays of one
    const head = encode({ name: 'x', workflow: 0 }).slice(0, -1)
    const bytes = new Uint8Array(head.length + 3501)
    bytes.set(head)
    bytes.fill(0x81, head.length, head.length + 3500)
    bytes[bytes.length - 1] = 0x01
    s.send(JSON.stringify(runRequest(5, [Array.from(bytes)])))
    const [answer] = await Promise.all([s.next(10_000), h.bystanders.serve(log, start++)])
    expect(answer).toMatchObject({ id: 5, error: { code: -32600, data: { code: 'RPC_JSON_TOO_DEEP', limit: 64 } } })
  })

  it('a batch of 100 heavy requests (7 MB) is read once, its requests take turns with other clients: a probe sent while it is served is answered before it ends', async () => {
    const s = await hostile()
    const log = new EventLog()
    // each request: 100 copies of one task, which the node refuses only after reading the
    // workflow and computing its CIDs (duplicate instructions); 100 such requests in one frame
    const requests = Array.from({ length: 100 }, (_, i) => runRequest(i, [{ name: `dup ${i}`, workflow: { tasks: Array.from({ length: 100 }, () => task(MISSING_RSC, 'add_one', [i], { pad: 'p'.repeat(400) })) } }]))
    const frame = JSON.stringify(requests)
    expect(frame.length).toBeGreaterThan(5_000_000)
    const errors = async (): Promise<number> => await seriesValue(h.t.node.registry, 'ipvm_rpc_requests_total', { method: 'subscribe_run_workflow', outcome: 'error' }) ?? 0
    const before = await errors()
    s.send(frame)
    const answered = s.next(60_000).then(r => { log.push('batch'); return r as Array<{ id: number, error: { data: { code: string } } }> })
    // once the node is into the batch, the bystanders ask
    await until(async () => await errors() > before, 'the batch to be served')
    await h.bystanders.serve(log, start++)
    const answer = await answered
    expect(log.at('probe')).toBeLessThan(log.at('batch'))
    expect(answer.map(r => r.id)).toEqual(requests.map((_, i) => i))
    expect(new Set(answer.map(r => r.error.data.code))).toEqual(new Set(['WORKFLOW_INVALID_DUPLICATE_TASK']))
  })

  it('the requests of one message may carry workflow.max_tasks tasks in all: later ones are refused unread', async () => {
    const s = await hostile()
    const log = new EventLog()
    // 4001 tasks, all the same but one: read, then refused for their duplicates
    const tasks = Array.from({ length: 4000 }, () => tinyTask(0))
    const requests = [0, 1, 2].map(i => runRequest(i, [{ workflow: { tasks: [...tasks, tinyTask(1 + i)] } }]))
    s.send(JSON.stringify(requests))
    const [answer] = await Promise.all([s.next(30_000), h.bystanders.serve(log, start++)])
    expect(answer.map((r: { id: number }) => r.id)).toEqual([0, 1, 2])
    expect(answer.map((r: { error: { data: { code: string } } }) => r.error.data.code)).toEqual(['WORKFLOW_INVALID_DUPLICATE_TASK', 'WORKFLOW_INVALID_DUPLICATE_TASK', 'WORKFLOW_TOO_LARGE'])
    // the third is over the total, refused unread
    expect(answer[2]).toMatchObject({ error: { code: -32005, data: { limit: 10_000, tasks: 4001, frame_tasks: 12_003 } } })
  })

  it('ids come back exactly as written, over WebSocket and HTTP, alone and in batches; a float id finds its own workflow in a batch', async () => {
    const s = await hostile(HOSTILE_ADDRESSES[1])
    for (const id of ['1e400', '18446744073709551616', '1.0', '-0', '"\\u0041"']) {
      s.send(`{"jsonrpc":"2.0","id":${id},"method":"health"}`)
      const raw = await new Promise<string>(resolve => s.ws.once('message', d => resolve(frameText(d))))
      expect(raw).toBe(`{"jsonrpc":"2.0","id":${id},"result":{"healthy":true}}`)
      const http = await httpOnce(`${h.t.httpUrl}/`, { body: `[{"jsonrpc":"2.0","id":${id},"method":"health"},{"jsonrpc":"2.0","id":2,"method":"health"}]`, localAddress: HOSTILE_ADDRESSES[1] })
      expect(http.text).toBe(`[{"jsonrpc":"2.0","id":${id},"result":{"healthy":true}},{"jsonrpc":"2.0","id":2,"result":{"healthy":true}}]`)
    }
    // ids 1 and 1.0 are different requests: each subscription streams its own workflow
    const a = { tasks: [task(h.rsc, 'add_one', [start++])] }
    const b = { tasks: [task(h.rsc, 'add_one', [start++]), task(h.rsc, 'add_one', [awaitOk(task(h.rsc, 'add_one', [start - 1]))])] }
    s.send(`[${JSON.stringify(runRequest(0, [{ name: 'b', workflow: b }, JSON_WITH_STATUS])).replace('"id":0', '"id":1.0')}, ${JSON.stringify(runRequest(1, [{ name: 'a', workflow: a }, JSON_WITH_STATUS]))}]`)
    const raw = await new Promise<string>(resolve => s.ws.once('message', d => resolve(frameText(d))))
    const subs = new Map<string, string>()
    for (const m of raw.matchAll(/"id":(1\.0|1),"result":"(\w+)"/g)) subs.set(m[1], m[2])
    expect(subs.size).toBe(2)
    const workflows = new Map<string, string>()
    await until(async () => {
      while (workflows.size < 2) {
        const n = await s.next(10_000)
        if (n.params?.result?.metadata?.workflow !== undefined) workflows.set(n.params.subscription, n.params.result.metadata.workflow['/'])
      }
      return true
    }, 'a receipt on each subscription')
    expect(workflows.get(subs.get('1.0')!)).toBe(workflowCid(b))
    expect(workflows.get(subs.get('1')!)).toBe(workflowCid(a))
  })

  it('POST /ui/plan: 40 000 tasks are refused with 413 WORKFLOW_TOO_LARGE before parsing; one task awaiting 60 000 times is planned', async () => {
    const log = new EventLog()
    const body = JSON.stringify({ tasks: Array.from({ length: 40_000 }, (_, i) => tinyTask(i)) })
    const [refused] = await Promise.all([httpOnce(`${h.t.httpUrl}/ui/plan`, { body, localAddress: HOSTILE_ADDRESSES[2] }), h.bystanders.serve(log, start++)])
    expect(refused.status).toBe(413)
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: -32005, data: { code: 'WORKFLOW_TOO_LARGE', tasks: 40_000 } } })
    const first = task(h.rsc, 'add_one', [1])
    const awaited = awaitOk(first)
    const many = JSON.stringify({ tasks: [first, task(h.rsc, 'join_strings', Array.from({ length: 60_000 }, () => awaited))] })
    const [planned] = await Promise.all([httpOnce(`${h.t.httpUrl}/ui/plan`, { body: many, localAddress: HOSTILE_ADDRESSES[2] }), h.bystanders.serve(log, start++)])
    expect(planned.status).toBe(200)
    expect((JSON.parse(planned.text) as { tasks: Array<{ awaits: unknown[] }> }).tasks[1].awaits).toHaveLength(1)
  })
})

describe('metric labels from clients', { timeout: 90_000 }, () => {
  let t: TestNode
  let rsc: string
  beforeAll(async () => {
    t = await startTestNode({ config: { network: { enable: false }, workflow: { retries: 0 }, metrics: { max_label_values: 8 } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 120_000)
  afterAll(async () => { await t.close() })

  it('100 function names make at most metrics.max_label_values + 1 series of ipvm_tasks_failed_total; the rest count as "other"', async () => {
    const s = await hostileSocket(t.url)
    try {
      const tasks = Array.from({ length: 100 }, (_, i) => task(rsc, `no_such_function_${i}_${'x'.repeat(100)}`, [i]))
      s.send(JSON.stringify(runRequest(1, [{ workflow: { tasks } }, JSON_WITH_STATUS])))
      expect(typeof (await s.next(10_000)).result).toBe('string')
      let final: any
      while (final === undefined) {
        const n = await s.next(20_000)
        if (n.params?.result?.workflow_status?.final === true) final = n.params.result.workflow_status
      }
      expect(final.tasks.failed).toBe(100)
      const family = await t.node.registry.getSingleMetric('ipvm_tasks_failed_total')!.get()
      expect(family.values.length).toBeLessThanOrEqual(9)
      expect(family.values.reduce((sum, v) => sum + v.value, 0)).toBe(100)
      expect(family.values.some(v => v.labels.op === 'other')).toBe(true)
    } finally {
      s.close()
    }
  })
})
