import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { collectRun, type RunNotification } from '../../../src/client/index.js'
import { jsonNestingExceeds, TokenBucket } from '../../../src/rpc/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { RawSocket } from '../../utils/ws.js'
import { addResource, awaitOk, task } from '../../utils/workflows.js'
import { seriesValue } from '../../utils/read-series.js'
import { httpOnce } from '../../utils/http.js'

const FAKE_RSC = 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka'
const sockets: RawSocket[] = []
afterEach(() => { for (const s of sockets.splice(0)) s.close() })

async function open (url: string, localAddress?: string): Promise<RawSocket> {
  const s = await RawSocket.open(url, localAddress !== undefined ? { localAddress } : {})
  sockets.push(s)
  return s
}

const health = (id: number | string): object => ({ jsonrpc: '2.0', id, method: 'health' })
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)

describe('guards', () => {
  it('jsonNestingExceeds counts brackets outside strings only, without recursion', () => {
    expect(jsonNestingExceeds(nested(3), 3)).toBe(false)
    expect(jsonNestingExceeds(nested(4), 3)).toBe(true)
    expect(jsonNestingExceeds('{"a":[{"b":[]}]}', 4)).toBe(false)
    expect(jsonNestingExceeds('{"a":[{"b":[]}]}', 3)).toBe(true)
    expect(jsonNestingExceeds(JSON.stringify({ s: '[[[[{{{{' }), 1)).toBe(false)
    expect(jsonNestingExceeds(JSON.stringify({ s: 'quote \\" [[[[' }), 1)).toBe(false)
    expect(jsonNestingExceeds('['.repeat(2_000_000), 64)).toBe(true)
  })

  it('a token bucket gives the burst at once, then the rate', () => {
    let now = 0
    const b = new TokenBucket({ ratePerSecond: 10, burst: 3 }, () => now)
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false])
    expect(b.waitMs()).toBe(100)
    now += 100
    expect([b.take(), b.take()]).toEqual([true, false])
    now += 10_000
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false])
    const off = new TokenBucket({ ratePerSecond: 0, burst: 1 }, () => now)
    for (let i = 0; i < 100; i++) expect(off.take()).toBe(true)
  })
})

describe('rpc.max_json_depth', () => {
  let t: TestNode
  // no request budget: the frames below are about the backlog, not the rate (a client past its budget is read at its rate)
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_json_depth: 16, max_requests_per_second: 0 }, network: { enable: false } } }) })
  afterAll(async () => { await t.close() })

  it('a message nested deeper is -32600 RPC_JSON_TOO_DEEP, however deep, and the socket goes on', async () => {
    const s = await open(t.url)
    for (const text of [nested(17), '['.repeat(1_000_000), `{"jsonrpc":"2.0","id":1,"method":"health","params":${nested(16)}}`]) {
      s.send(text)
      expect(await s.next(5000)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600, data: { code: 'RPC_JSON_TOO_DEEP', limit: 16 } } })
    }
    // 16 levels is allowed: it reaches the params check
    const atLimit = await s.request({ jsonrpc: '2.0', id: 2, method: 'health', params: JSON.parse(nested(15)) })
    expect(atLimit).toMatchObject({ id: 2, error: { code: -32602 } })
    // brackets inside strings are not nesting
    const inString = await s.request({ jsonrpc: '2.0', id: 3, method: 'unsubscribe_run_workflow', params: ['[{'.repeat(100)] })
    expect(inString).toEqual({ jsonrpc: '2.0', id: 3, result: false })
    expect(await s.request(health(4))).toMatchObject({ result: { healthy: true } })
  })

  it('a client that sends thousands of frames at once gets every answer, in order (reading pauses, then resumes)', async () => {
    const s = await open(t.url)
    for (let i = 0; i < 3000; i++) s.send(JSON.stringify(health(i)))
    for (let i = 0; i < 3000; i++) {
      const r = await s.next(10_000)
      expect(r.id).toBe(i)
      expect(r.result).toEqual({ healthy: true })
    }
  }, 30_000)

  it('answers pipelined requests in order when some are answered at once (health) and others wait for the store (workflow_list)', async () => {
    const s = await open(t.url)
    for (let i = 0; i < 400; i++) s.send(JSON.stringify(i % 2 === 0 ? health(i) : { jsonrpc: '2.0', id: i, method: 'workflow_list', params: { limit: 1 } }))
    for (let i = 0; i < 400; i++) {
      const r = await s.next(10_000)
      expect(r.id).toBe(i)
      expect(r.result).toEqual(i % 2 === 0 ? { healthy: true } : { runs: [] })
    }
  }, 30_000)

  it('over HTTP too', async () => {
    const r = await fetch(`${t.httpUrl}/`, { method: 'POST', body: '{"a":' + nested(100_000) + '}' })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ id: null, error: { code: -32600, data: { code: 'RPC_JSON_TOO_DEEP' } } })
    expect(await t.client.health()).toEqual({ healthy: true })
  })
})

describe('rpc.max_requests_per_second', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_requests_per_second: 5, request_burst: 5 }, network: { enable: false } } }) })
  afterAll(async () => { await t.close() })

  it('requests over the burst get -32005 RPC_RATE_LIMITED with their id; other clients are not affected; tokens come back', async () => {
    const s = await open(t.url, '127.0.0.2')
    const r = await s.request(Array.from({ length: 8 }, (_, i) => health(i)))
    const byId = new Map<number, any>(r.map((x: { id: number }) => [x.id, x]))
    for (let i = 0; i < 5; i++) expect(byId.get(i)).toMatchObject({ result: { healthy: true } })
    for (let i = 5; i < 8; i++) {
      expect(byId.get(i)).toMatchObject({ error: { code: -32005, data: { code: 'RPC_RATE_LIMITED', limit: 5, burst: 5 } } })
      expect(byId.get(i).error.data.retry_after_ms).toBeGreaterThan(0)
    }
    // a notification over the rate gets nothing
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'health' }))
    expect(await s.quietFor(50)).toBe(true)
    // another client (another address) has its own budget
    const other = await open(t.url, '127.0.0.3')
    expect(await other.request(health('x'))).toMatchObject({ result: { healthy: true } })
    // 5 per second: a token is back after 200 ms
    await new Promise(resolve => setTimeout(resolve, 450))
    expect(await s.request(health(9))).toMatchObject({ id: 9, result: { healthy: true } })
  })

  it('a client that spent its last token is not read from until one is back: its next message waits, and is served', async () => {
    const s = await open(t.url, '127.0.0.6')
    const r = await s.request(Array.from({ length: 5 }, (_, i) => health(i)))
    expect(r.every((x: { result?: unknown }) => x.result !== undefined)).toBe(true)
    // sent at once, with no token left: read once a token is back, so answered, not refused
    expect(await s.request(health('next'))).toMatchObject({ id: 'next', result: { healthy: true } })
    // refused past its budget, a client is next read once the budget is full again: the whole batch is served
    const over = await s.request(Array.from({ length: 6 }, (_, i) => health(`b${i}`)))
    expect(over.filter((x: { error?: unknown }) => x.error !== undefined).length).toBeGreaterThan(0)
    const after = await s.request(Array.from({ length: 5 }, (_, i) => health(`c${i}`)))
    expect(after.map((x: { result?: unknown }) => x.result)).toEqual(Array.from({ length: 5 }, () => ({ healthy: true })))
  })

})

describe('the request budget is the client\'s', () => {
  let t: TestNode
  // a token every 100 s: nothing comes back while the test runs, however slowly it runs
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_requests_per_second: 0.01, request_burst: 5 }, network: { enable: false } } }) })
  afterAll(async () => { await t.close() })

  it('shared by its WebSocket connections: a new connection is no way around it', async () => {
    const s = await open(t.url, '127.0.0.2')
    const r = await s.request(Array.from({ length: 6 }, (_, i) => health(i)))
    expect(r.map((x: { result?: unknown, error?: { data: { code: string } } }) => x.result !== undefined ? 'ok' : x.error?.data.code)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RPC_RATE_LIMITED'])
    const sibling = await open(t.url, '127.0.0.2')
    expect(await sibling.request(health('y'))).toMatchObject({ id: 'y', error: { data: { code: 'RPC_RATE_LIMITED' } } })
    const other = await open(t.url, '127.0.0.3')
    expect(await other.request(health('x'))).toMatchObject({ result: { healthy: true } })
  })

  it('over HTTP, shared by every connection of the client and with its WebSockets; GET routes take from it too (429)', async () => {
    const from = '127.0.0.4'
    const body = JSON.stringify(Array.from({ length: 7 }, (_, i) => health(i)))
    const r = JSON.parse((await httpOnce(`${t.httpUrl}/`, { body, localAddress: from })).text) as Array<{ result?: unknown, error?: { data: { code: string } } }>
    expect(r.filter(x => x.result !== undefined)).toHaveLength(5)
    expect(r.filter(x => x.error?.data.code === 'RPC_RATE_LIMITED')).toHaveLength(2)
    // a new TCP connection per request does not reset the budget
    const again = await httpOnce(`${t.httpUrl}/`, { body: JSON.stringify(health(8)), localAddress: from })
    expect(JSON.parse(again.text)).toMatchObject({ id: 8, error: { code: -32005, data: { code: 'RPC_RATE_LIMITED' } } })
    const get = await httpOnce(`${t.httpUrl}/health`, { localAddress: from })
    expect(get.status).toBe(429)
    expect(get.headers['retry-after']).toBeDefined()
    expect(JSON.parse(get.text)).toMatchObject({ error: { code: -32005, data: { code: 'RPC_RATE_LIMITED' } } })
    // nor does a WebSocket
    const ws = await open(t.url, from)
    expect(await ws.request(health(9))).toMatchObject({ id: 9, error: { data: { code: 'RPC_RATE_LIMITED' } } })
    // other clients are served
    expect((await httpOnce(`${t.httpUrl}/health`, { localAddress: '127.0.0.5' })).status).toBe(200)
  })
})

describe('rpc.max_subscriptions_per_connection', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_subscriptions_per_connection: 2 }, workflow: { retries: 0 }, network: { enable: false } } }) })
  afterAll(async () => { await t.close() })

  it('a third subscription is -32005 RPC_SUBSCRIPTION_LIMIT and starts no run; unsubscribing frees a place', async () => {
    const s = await open(t.url)
    const sub = (id: number): object => ({ jsonrpc: '2.0', id, method: 'subscribe_network_events' })
    const first = await s.request(sub(1))
    expect(typeof first.result).toBe('string')
    expect(typeof (await s.request(sub(2))).result).toBe('string')
    expect(await s.request(sub(3))).toMatchObject({ id: 3, error: { code: -32005, data: { code: 'RPC_SUBSCRIPTION_LIMIT', limit: 2 } } })
    const started = await seriesValue(t.node.registry, 'ipvm_workflows_started_total')
    const run = { jsonrpc: '2.0', id: 4, method: 'subscribe_run_workflow', params: [{ workflow: { tasks: [task(FAKE_RSC, 'add_one', [1])] } }] }
    expect(await s.request(run)).toMatchObject({ id: 4, error: { code: -32005, data: { code: 'RPC_SUBSCRIPTION_LIMIT' } } })
    expect(await seriesValue(t.node.registry, 'ipvm_workflows_started_total')).toBe(started)
    // other connections have their own count
    const other = await open(t.url)
    expect(typeof (await other.request(sub(1))).result).toBe('string')
    expect(await s.request({ jsonrpc: '2.0', id: 5, method: 'unsubscribe_network_events', params: [first.result] })).toMatchObject({ result: true })
    expect(typeof (await s.request(sub(6))).result).toBe('string')
  })
})

describe('rpc.max_connections', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_connections: 3 }, network: { enable: false } } }) })
  afterAll(async () => { await t.close() })

  async function refused (url: string): Promise<{ status: number, body: any }> {
    return await new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      ws.once('open', () => { ws.terminate(); reject(new Error('connected')) })
      ws.once('error', () => {})
      ws.once('unexpected-response', (_req, res) => {
        let text = ''
        res.on('data', (d: Buffer) => { text += String(d) })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
      })
    })
  }

  it('one more WebSocket gets HTTP 503 with a JSON-RPC error body; HTTP and the others keep working; a freed place can be taken', async () => {
    // the test client is the first connection
    const a = await open(t.url)
    await open(t.url)
    const r = await refused(t.url)
    expect(r.status).toBe(503)
    expect(r.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32005, data: { code: 'RPC_CONNECTION_LIMIT', limit: 3 } } })
    expect(await seriesValue(t.node.registry, 'ipvm_rpc_dropped_clients_total', { reason: 'connection_limit' })).toBe(1)
    expect(await a.request(health(1))).toMatchObject({ result: { healthy: true } })
    expect(await (await fetch(`${t.httpUrl}/`, { method: 'POST', body: JSON.stringify(health(2)) })).json()).toMatchObject({ result: { healthy: true } })
    a.close()
    const deadline = Date.now() + 3000
    while ((await seriesValue(t.node.registry, 'ipvm_rpc_connections')) !== 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    const c = await open(t.url)
    expect(await c.request(health(3))).toMatchObject({ result: { healthy: true } })
  })
})

describe('workflow.max_tasks, workflow.max_runs and workflow.max_queued_runs', () => {
  let t: TestNode
  let rsc: string
  beforeAll(async () => {
    t = await startTestNode({ config: { workflow: { max_tasks: 3, max_runs: 1, max_queued_runs: 1, retries: 0 }, network: { enable: false } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 60_000)
  afterAll(async () => { await t.close() })

  it('a workflow with more tasks is -32005 WORKFLOW_TOO_LARGE', async () => {
    const s = await open(t.url)
    const tasks = Array.from({ length: 4 }, (_, i) => task(rsc, 'add_one', [i]))
    const r = await s.request({ jsonrpc: '2.0', id: 1, method: 'subscribe_run_workflow', params: [{ workflow: { tasks } }] })
    expect(r).toMatchObject({ id: 1, error: { code: -32005, data: { code: 'WORKFLOW_TOO_LARGE', limit: 3, tasks: 4 } } })
  })

  it('beyond max_runs a run waits its turn; beyond the queue, -32005 WORKFLOW_BUSY; the node keeps answering', async () => {
    const slow = { tasks: [task(rsc, 'spin', [], { time: 1200 })] }
    const queued = { tasks: [task(rsc, 'add_one', [41]), task(rsc, 'add_one', [awaitOk(task(rsc, 'add_one', [41]))])] }
    const refused = { tasks: [task(rsc, 'add_one', [7])] }
    const finished: string[] = []
    // the slow run holds the only place once its subscription is answered
    const slowStream = await t.client.runWorkflow(slow)
    const a = collectRun(slowStream, 20_000).then(r => { finished.push('slow'); return r })
    const queuedStream = await t.client.runWorkflow(queued)
    const seen: RunNotification[] = []
    const b = collectRun(queuedStream, 20_000, n => seen.push(n)).then(r => { finished.push('queued'); return r })

    const s = await open(t.url)
    const busy = await s.request({ jsonrpc: '2.0', id: 1, method: 'subscribe_run_workflow', params: [{ workflow: refused }] })
    expect(busy).toMatchObject({ id: 1, error: { code: -32005, data: { code: 'WORKFLOW_BUSY', max_runs: 1, max_queued_runs: 1 } } })
    // joining a run already in progress is not a new run
    const join = await s.request({ jsonrpc: '2.0', id: 2, method: 'subscribe_run_workflow', params: [{ workflow: slow }] })
    expect(typeof join.result).toBe('string')
    expect(await s.request(health(3))).toMatchObject({ result: { healthy: true } })
    // the queued run has not started while the slow one holds the only place
    expect(seen).toEqual([])

    const [ra, rb] = await Promise.all([a, b])
    expect(ra.status.status).toBe('failed')
    expect(ra.receipts[0].receipt.out[1]).toMatchObject({ code: 'RUNTIME_TIMEOUT' })
    expect(rb.status.status).toBe('completed')
    expect(rb.receipts.map(r => r.receipt.out)).toEqual([['ok', 42], ['ok', 43]])
    expect(finished).toEqual(['slow', 'queued'])
    const later = await collectRun(await t.client.runWorkflow(refused), 20_000)
    expect(later.status.status).toBe('completed')
  }, 30_000)
})

describe('rpc.max_buffered_bytes', () => {
  let t: TestNode
  let rsc: string
  beforeAll(async () => {
    t = await startTestNode({ config: { rpc: { max_buffered_bytes: 1024 * 1024, max_requests_per_second: 0 }, network: { enable: false } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 60_000)
  afterAll(async () => { await t.close() })

  it('a client that stops reading while the node floods it is disconnected and counted; the others are served', async () => {
    // receipts of 64 KiB doubling to 4 MiB: a few runs send tens of MiB from a small request
    const tasks = [task(rsc, 'append_string', ['x'.repeat(32 * 1024)])]
    for (let i = 0; i < 7; i++) tasks.push(task(rsc, 'join_strings', [awaitOk(tasks[i]), awaitOk(tasks[i])]))
    const frame = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe_run_workflow', params: [{ workflow: { tasks } }] })
    const stalled = await open(t.url)
    const socket = (stalled.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
    socket.pause()
    for (let i = 0; i < 10; i++) stalled.send(frame)

    const dropped = async (): Promise<number | undefined> => await seriesValue(t.node.registry, 'ipvm_rpc_dropped_clients_total', { reason: 'slow_client' })
    const deadline = Date.now() + 20_000
    while (await dropped() === undefined && Date.now() < deadline) {
      // meanwhile the node answers everyone else
      expect(await t.client.health()).toEqual({ healthy: true })
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    expect(await dropped()).toBe(1)
    const gone = Date.now() + 3000
    while (await seriesValue(t.node.registry, 'ipvm_rpc_connections') !== 1 && Date.now() < gone) await new Promise(resolve => setTimeout(resolve, 20))
    expect(await seriesValue(t.node.registry, 'ipvm_rpc_connections')).toBe(1)
    socket.resume()
    expect(await stalled.waitClosed(5000)).toBe(1006)
    expect(await t.client.health()).toEqual({ healthy: true })
  }, 30_000)
})
