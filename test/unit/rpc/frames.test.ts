import { describe, expect, it } from 'vitest'
import { FrameHandler, OpenRpc, Router, TokenBucket, type AnyMethod, type OpenRpcDocument } from '../../../src/rpc/index.js'
import { silentLogger } from '../../../src/util/logger.js'

const doc: OpenRpcDocument = {
  openrpc: '1.2.6',
  info: { title: 'test', version: '0' },
  methods: [
    { name: 'echo', params: [{ name: 'value', schema: {} }] },
    { name: 'work', params: [{ name: 'label', schema: { type: 'string' } }] },
    { name: 'run', params: [{ name: 'run', required: true, schema: { type: 'object', properties: { workflow: { type: 'object' } } } }] },
    { name: 'wait', params: [] }
  ]
}

/** A frame handler over a router with test methods; `calls` lists what ran, in order. */
function setup (opts: { maxTasks?: number, maxBatch?: number } = {}): { frames: FrameHandler, calls: string[] } {
  const calls: string[] = []
  const router = new Router({ maxTasks: opts.maxTasks ?? 10, maxBatch: opts.maxBatch ?? 100 }, { openrpc: new OpenRpc(doc, {}), logger: silentLogger() })
  const methods: AnyMethod[] = [
    { name: 'echo', handler: (params: { value?: unknown }, ctx) => { calls.push(`echo ${ctx.raw ?? ''}`); return params.value ?? null } },
    {
      name: 'work',
      handler: (params: { label: string }) => {
        calls.push(`start ${params.label}`)
        // a request that holds the thread a while, as validating a large workflow does
        const until = performance.now() + 2
        while (performance.now() < until) { /* busy */ }
        return params.label
      }
    },
    {
      name: 'run',
      countTasks: params => params.countAt([[0, 'workflow', 'tasks']])[0],
      handler: (params: { run: { workflow: { tasks: unknown[] } } }) => { calls.push(`run ${params.run.workflow.tasks.length}`); return params.run.workflow.tasks.length }
    },
    { name: 'wait', handler: async () => { await new Promise(resolve => setImmediate(resolve)); return 'waited' } }
  ]
  for (const m of methods) router.register(m)
  return { frames: new FrameHandler(router, { maxJsonDepth: 16 }, silentLogger()), calls }
}

const ctx = { transport: 'http' as const }

describe('FrameHandler', () => {
  it('echoes each id exactly as written, in single requests and batches', async () => {
    const { frames } = setup()
    for (const id of ['1e400', '18446744073709551616', '-9223372036854775809', '1.0', '-0', '1E+2', '"\\u0041b\\"c"', '"x"', '0']) {
      expect(await frames.handle(`{"jsonrpc":"2.0","id":${id},"method":"echo","params":[1]}`, ctx)).toBe(`{"jsonrpc":"2.0","id":${id},"result":1}`)
    }
    const batch = await frames.handle('[{"jsonrpc":"2.0","id":1e400,"method":"echo","params":[1]}, {"jsonrpc":"2.0","id":2e400,"method":"nope"}, {"jsonrpc":"2.0","method":"echo"}, {"jsonrpc":"2.0","id":1.50,"method":"echo","params":{"value":2}}]', ctx)
    expect(batch).toMatch(/^\[\{"jsonrpc":"2\.0","id":1e400,"result":1\},\{"jsonrpc":"2\.0","id":2e400,"error":\{"code":-32601,.*\},\{"jsonrpc":"2\.0","id":1\.50,"result":2\}\]$/)
    // an id that is not one is answered with null
    expect(JSON.parse((await frames.handle('{"jsonrpc":"2.0","id":{"a":1},"method":"echo"}', ctx))!)).toMatchObject({ id: null, error: { code: -32600 } })
  })

  it('answers at once when the method does (no promise on the way); with a promise for a method that waits, a batch and a large message', async () => {
    const { frames } = setup()
    // answered from memory, refused before running, or not JSON: the answer is the return value itself
    expect(frames.handle('{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}', ctx)).toBe('{"jsonrpc":"2.0","id":1,"result":1}')
    expect(JSON.parse(frames.handle('{"jsonrpc":"2.0","id":2,"method":"work","params":[1]}', ctx) as string)).toMatchObject({ id: 2, error: { code: -32602 } })
    expect(JSON.parse(frames.handle('{"jsonrpc":"2.0","id":3,"method":"nope"}', ctx) as string)).toMatchObject({ id: 3, error: { code: -32601 } })
    expect(frames.handle('{"jsonrpc":"2.0","method":"echo","params":[1]}', ctx)).toBeNull()
    // a method that waits, a batch, and a large message (a turn of the event loop before it is parsed) answer through a promise
    const later = frames.handle('{"jsonrpc":"2.0","id":4,"method":"wait"}', ctx)
    expect(later).toBeInstanceOf(Promise)
    expect(await later).toBe('{"jsonrpc":"2.0","id":4,"result":"waited"}')
    const batch = frames.handle('[{"jsonrpc":"2.0","id":5,"method":"echo","params":[1]}]', ctx)
    expect(batch).toBeInstanceOf(Promise)
    expect(await batch).toBe('[{"jsonrpc":"2.0","id":5,"result":1}]')
    const large = frames.handle(`{"jsonrpc":"2.0","id":6,"method":"echo","params":["${'x'.repeat(70_000)}"]}`, ctx)
    expect(large).toBeInstanceOf(Promise)
    expect(await large).toBe(`{"jsonrpc":"2.0","id":6,"result":"${'x'.repeat(70_000)}"}`)
  })

  it('hands each request of a batch its own text, not the whole message', async () => {
    const { frames, calls } = setup()
    const a = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["a"]}'
    const b = '{"jsonrpc":"2.0","id":1.0,"method":"echo","params":["b"]}'
    await frames.handle(`[${a} ,\n ${b}]`, ctx)
    expect(calls).toEqual([`echo ${a}`, `echo ${b}`])
  })

  it('a syntax error anywhere makes the message a parse error before any request runs', async () => {
    const { frames, calls } = setup()
    const r = JSON.parse((await frames.handle('[{"jsonrpc":"2.0","id":1,"method":"echo"}, {"jsonrpc":"2.0","id":2,"method":"echo","params":[tru]}]', ctx))!)
    expect(r).toMatchObject({ id: null, error: { code: -32700, data: { code: 'RPC_PARSE' } } })
    expect(calls).toEqual([])
    expect(JSON.parse((await frames.handle('{"a":', ctx))!)).toMatchObject({ error: { code: -32700 } })
    expect(JSON.parse((await frames.handle('[]', ctx))!)).toMatchObject({ error: { code: -32600 } })
    expect(JSON.parse((await frames.handle('[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]', ctx))!)).toMatchObject({ error: { code: -32600, data: { code: 'RPC_JSON_TOO_DEEP' } } })
  })

  it('refuses a workflow over max_tasks from its text, and the requests of one message beyond max_tasks in all, without parsing them', async () => {
    const { frames, calls } = setup({ maxTasks: 10 })
    const run = (id: number, n: number, extra = ''): string => `{"jsonrpc":"2.0","id":${id},"method":"run","params":[{"workflow":{"tasks":[${Array(n).fill('{}').join(',')}]}}]${extra}}`
    // the request is not parsed: a syntax error inside it does not matter
    const single = JSON.parse((await frames.handle(run(1, 11, ', "broken": [tru]'), ctx))!)
    expect(single).toMatchObject({ id: 1, error: { code: -32005, data: { code: 'WORKFLOW_TOO_LARGE', limit: 10, tasks: 11 } } })
    const batch = JSON.parse((await frames.handle(`[${run(1, 6)}, ${run(2, 4)}, ${run(3, 1)}, ${run(4, 0)}]`, ctx))!) as Array<{ id: number, result?: number, error?: { data: { code: string, frame_tasks?: number } } }>
    expect(batch.map(r => r.result ?? r.error?.data.code)).toEqual([6, 4, 'WORKFLOW_TOO_LARGE', 0])
    expect(batch[2].error?.data.frame_tasks).toBe(11)
    expect(calls).toEqual(['run 6', 'run 4', 'run 0'])
  })

  it('takes one token per request; over the budget a request is refused with its id and not parsed; a large message is refused unread', async () => {
    let now = 0
    const rate = new TokenBucket({ ratePerSecond: 1, burst: 2 }, () => now)
    const { frames, calls } = setup()
    const r = JSON.parse((await frames.handle('[{"jsonrpc":"2.0","id":"a","method":"echo"},{"jsonrpc":"2.0","id":"b","method":"echo"},{"jsonrpc":"2.0","id":"c","method":"echo","params":[tru]},{"jsonrpc":"2.0","method":"echo"}]', { ...ctx, rate }))!)
    expect(r).toMatchObject([{ id: 'a', result: null }, { id: 'b', result: null }, { id: 'c', error: { code: -32005, data: { code: 'RPC_RATE_LIMITED', limit: 1, burst: 2, retry_after_ms: 1000 } } }])
    expect(r).toHaveLength(3)
    expect(calls).toHaveLength(2)
    const large = `{"jsonrpc":"2.0","id":7,"method":"echo","params":["${'x'.repeat(100_000)}"]}`
    expect(JSON.parse((await frames.handle(large, { ...ctx, rate }))!)).toMatchObject({ id: null, error: { data: { code: 'RPC_RATE_LIMITED' } } })
    now += 1000
    expect(JSON.parse((await frames.handle(large, { ...ctx, rate }))!)).toMatchObject({ id: 7 })
  })

  it('a workflow pays one token more per 20 tasks, in debt if need be: served whole, then the client waits until it is repaid', async () => {
    let now = 0
    const rate = new TokenBucket({ ratePerSecond: 10, burst: 10 }, () => now)
    const { frames, calls } = setup({ maxTasks: 400 })
    const run = (id: number, n: number): string => `{"jsonrpc":"2.0","id":${id},"method":"run","params":[{"workflow":{"tasks":[${Array(n).fill('{"a":1}').join(',')}]}}]}`
    // 300 tasks: 1 + 15 tokens of a budget of 10, so 6 in debt
    expect(JSON.parse((await frames.handle(run(1, 300), { ...ctx, rate }))!)).toMatchObject({ id: 1, result: 300 })
    expect(rate.waitMs()).toBe(700)
    expect(JSON.parse((await frames.handle('{"jsonrpc":"2.0","id":2,"method":"echo"}', { ...ctx, rate }))!)).toMatchObject({ id: 2, error: { data: { code: 'RPC_RATE_LIMITED', retry_after_ms: 700 } } })
    // the debt is never more than one burst (21 tokens charged, 10 owed at most)
    now += 700
    expect(JSON.parse((await frames.handle(run(3, 400), { ...ctx, rate }))!)).toMatchObject({ id: 3, result: 400 })
    expect(rate.waitMs()).toBe(1100)
    now += 1100
    expect(JSON.parse((await frames.handle('{"jsonrpc":"2.0","id":4,"method":"echo"}', { ...ctx, rate }))!)).toMatchObject({ id: 4, result: null })
    expect(calls).toEqual(['run 300', 'run 400', `echo {"jsonrpc":"2.0","id":4,"method":"echo"}`])
  })

  it('the requests of a batch take turns with other messages: a request sent after a long batch is served before the batch ends', async () => {
    const { frames, calls } = setup()
    const batch = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'work', params: [`batch ${i}`] })))
    const long = frames.handle(batch, ctx)
    // the second message arrives while the batch is being served
    await new Promise(resolve => setImmediate(resolve))
    const single = frames.handle('{"jsonrpc":"2.0","id":"p","method":"work","params":["probe"]}', ctx)
    await Promise.all([long, single])
    const probe = calls.indexOf('start probe')
    expect(probe).toBeGreaterThan(0)
    expect(probe).toBeLessThan(calls.indexOf('start batch 19'))
  })
})
