import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { frameText, RawSocket } from '../../utils/ws.js'

describe('JSON-RPC protocol over WebSocket', () => {
  let t: TestNode
  let s: RawSocket
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_frame_bytes: 64 * 1024, max_batch: 5 } } }) })
  afterAll(async () => { await t.close() })
  afterEach(() => { s?.close() })

  it('answers a request and echoes string and number ids', async () => {
    s = await RawSocket.open(t.url)
    expect(await s.request({ jsonrpc: '2.0', id: 'abc', method: 'health' })).toEqual({ jsonrpc: '2.0', id: 'abc', result: { healthy: true } })
    expect(await s.request({ jsonrpc: '2.0', id: 7, method: 'health' })).toMatchObject({ id: 7, result: { healthy: true } })
  })

  it('answers in text frames, a request alone and each request of a burst (a browser reads them as strings)', async () => {
    s = await RawSocket.open(t.url)
    const frames: Array<{ binary: boolean, text: string }> = []
    s.ws.on('message', (data, isBinary) => frames.push({ binary: isBinary, text: frameText(data) }))
    expect(await s.request({ jsonrpc: '2.0', id: 1, method: 'health' })).toMatchObject({ result: { healthy: true } })
    // several requests in one write: their answers leave corked together, still one text frame each
    s.ws.send('{"jsonrpc":"2.0","id":2,"method":"health"}', { fin: true })
    s.ws.send('{"jsonrpc":"2.0","id":3,"method":"no_such_method"}')
    await s.next()
    await s.next()
    expect(frames.map(f => f.binary)).toEqual([false, false, false])
    expect(frames.map(f => JSON.parse(f.text).id)).toEqual([1, 2, 3])
  })

  it('-32700 for text that is not JSON, with a data field saying why', async () => {
    s = await RawSocket.open(t.url)
    s.send('{this is not json')
    const r = await s.next()
    expect(r).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error', data: { code: 'RPC_PARSE' } } })
    expect(typeof r.error.data.message).toBe('string')
    // the connection survives
    expect(await s.request({ jsonrpc: '2.0', id: 1, method: 'health' })).toMatchObject({ result: { healthy: true } })
  })

  it.each([
    ['a number', 42, null],
    ['no jsonrpc member', { id: 1, method: 'health' }, 1],
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 2, method: 'health' }, 2],
    ['no method', { jsonrpc: '2.0', id: 3 }, 3],
    ['a method that is not a string', { jsonrpc: '2.0', id: 4, method: 5 }, 4],
    ['params that are a string', { jsonrpc: '2.0', id: 5, method: 'health', params: 'bad' }, 5],
    ['an id that is an object', { jsonrpc: '2.0', id: { a: 1 }, method: 'health' }, null],
    ['an empty batch', [], null]
  ])('-32600 for %s', async (_name, body, id) => {
    s = await RawSocket.open(t.url)
    const r = await s.request(body)
    expect(r).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid Request' } })
    expect(typeof r.error.data.message).toBe('string')
  })

  it('-32601 for an unknown method', async () => {
    s = await RawSocket.open(t.url)
    expect(await s.request({ jsonrpc: '2.0', id: 1, method: 'nope' })).toMatchObject({ id: 1, error: { code: -32601 } })
  })

  it('-32602 with the list of violations for bad params', async () => {
    s = await RawSocket.open(t.url)
    const r = await s.request({ jsonrpc: '2.0', id: 1, method: 'health', params: [1, 2] })
    expect(r.error.code).toBe(-32602)
    expect(r.error.data.issues).toEqual([{ path: '/0', message: 'takes at most 0 params, got 2' }])
  })

  it('batches: one response per request with an id, in an array, invalid members answered in place', async () => {
    s = await RawSocket.open(t.url)
    const r = await s.request([
      { jsonrpc: '2.0', id: 1, method: 'health' },
      { jsonrpc: '2.0', method: 'health' },
      1,
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      { jsonrpc: '2.0', id: 3, method: 'node' }
    ])
    expect(Array.isArray(r)).toBe(true)
    expect(r).toHaveLength(4)
    const byId = new Map(r.map((x: { id: unknown }) => [x.id, x]))
    expect(byId.get(1)).toMatchObject({ result: { healthy: true } })
    expect(byId.get(2)).toMatchObject({ error: { code: -32601 } })
    expect(byId.get(3)).toMatchObject({ result: { static: { peer_id: t.node.peerId } } })
    expect(byId.get(null)).toMatchObject({ error: { code: -32600 } })
  })

  it('a batch of one is still answered with an array', async () => {
    s = await RawSocket.open(t.url)
    const r = await s.request([{ jsonrpc: '2.0', id: 9, method: 'health' }])
    expect(r).toEqual([{ jsonrpc: '2.0', id: 9, result: { healthy: true } }])
  })

  it('a batch longer than rpc.max_batch is refused as a whole', async () => {
    s = await RawSocket.open(t.url)
    const r = await s.request(Array.from({ length: 6 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'health' })))
    expect(r).toMatchObject({ id: null, error: { code: -32005, data: { code: 'RPC_BATCH_TOO_LARGE', limit: 5 } } })
  })

  it('a request without id (a notification) gets no reply, even when it fails', async () => {
    s = await RawSocket.open(t.url)
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'health' }))
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'nope' }))
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'health', params: [1] }))
    s.send(JSON.stringify([{ jsonrpc: '2.0', method: 'health' }]))
    expect(await s.quietFor(150)).toBe(true)
    expect(await s.request({ jsonrpc: '2.0', id: 1, method: 'health' })).toMatchObject({ id: 1, result: { healthy: true } })
  })

  it('a frame over max_frame_bytes is refused (close 1009) and the node keeps serving', async () => {
    s = await RawSocket.open(t.url)
    s.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health', params: ['x'.repeat(70 * 1024)] }))
    expect(await s.waitClosed()).toBe(1009)
    const other = await RawSocket.open(t.url)
    expect(await other.request({ jsonrpc: '2.0', id: 1, method: 'health' })).toMatchObject({ result: { healthy: true } })
    other.close()
  })
})

describe('JSON-RPC over HTTP POST', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode({ config: { rpc: { max_frame_bytes: 4096 } } }) })
  afterAll(async () => { await t.close() })

  const post = async (body: string): Promise<Response> => await fetch(`${t.httpUrl}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

  it('answers requests and batches', async () => {
    expect(await (await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }))).json()).toEqual({ jsonrpc: '2.0', id: 1, result: { healthy: true } })
    const batch = await (await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'health' }, { jsonrpc: '2.0', id: 2, method: 'node' }]))).json()
    expect(batch).toHaveLength(2)
  })

  it('parse errors and invalid requests', async () => {
    expect(await (await post('{')).json()).toMatchObject({ id: null, error: { code: -32700 } })
    expect(await (await post('[]')).json()).toMatchObject({ error: { code: -32600 } })
  })

  it('a notification gets 204 and no body', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', method: 'health' }))
    expect(r.status).toBe(204)
    expect(await r.text()).toBe('')
  })

  it('a body over max_frame_bytes gets 413 and an error, not buffered', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health', params: ['x'.repeat(8000)] }))
    expect(r.status).toBe(413)
    expect(await r.json()).toMatchObject({ error: { code: -32005, data: { code: 'RPC_FRAME_TOO_LARGE' } } })
  })

  it('other verbs and paths are refused', async () => {
    expect((await fetch(`${t.httpUrl}/`, { method: 'PUT', body: '{}' })).status).toBe(405)
  })
})
