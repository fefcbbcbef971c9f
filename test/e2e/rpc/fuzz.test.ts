import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { jsonNestingExceeds } from '../../../src/rpc/index.js'
import { encode, parseJson } from '../../../src/ipld/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { RawSocket } from '../../utils/ws.js'

/**
 * Random and mutated messages against a live node over WebSocket and HTTP. Every message
 * must get exactly the replies JSON-RPC 2.0 owes it, each a well-formed response, and the
 * node must stay healthy.
 */

const MAX_BATCH = 20
const MAX_DEPTH = 32
const WS_RUNS = 2400
const HTTP_RUNS = 600
const KNOWN_CODES = new Set([-32700, -32600, -32601, -32602, -32603, -32001, -32004, -32005, -32006, -32009])

const apiMethods: string[] = JSON.parse(readFileSync(new URL('../../../api.json', import.meta.url), 'utf8')).methods.map((m: { name: string }) => m.name)
const FAKE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka'
const HUGE_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '18446744073709551616', '-9223372036854775809', '1.0', '-0', '4.9e-325', '0.30000000000000004']

// ---- generators

const json = fc.jsonValue({ maxDepth: 3 })
const id = fc.oneof(fc.integer(), fc.string({ maxLength: 12 }), fc.constant(null), fc.double(), fc.boolean(), fc.constant({ a: 1 }), fc.constant(undefined))
const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...apiMethods) }, fc.string({ maxLength: 20 }), fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'rpc.', ''), fc.integer(), fc.constant(undefined))
const params = fc.oneof(fc.constant(undefined), fc.array(json, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 3 }), json)
const rsc = fc.constantFrom(`ipfs://${FAKE_CID}`, 'ipfs://not-a-cid', 'file:///etc/passwd', 'http://127.0.0.1:1/x', `http://127.0.0.1:1/ipfs/${FAKE_CID}`, '', 'not a url')
const arg = fc.oneof({ weight: 6, arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 6 })) }, fc.constant({ 'await/ok': { '/': FAKE_CID } }), fc.constant({ '/': FAKE_CID }), json)
const taskJson = fc.record({
  cause: fc.constant(null),
  meta: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 3, arbitrary: fc.record({ time: fc.integer({ min: 1, max: 1000 }), memory: fc.integer({ min: 65536, max: 1 << 24 }) }) }, json),
  prf: fc.constant([]),
  run: fc.record({
    input: fc.oneof({ weight: 5, arbitrary: fc.record({ args: fc.array(arg, { maxLength: 3 }), func: fc.oneof(fc.constant('add_one'), fc.string({ maxLength: 10 })) }) }, json),
    nnc: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 3, arbitrary: fc.stringMatching(/^[0-9a-v]{19}[0g]$/) }, fc.string({ maxLength: 8 })),
    op: fc.oneof({ weight: 5, arbitrary: fc.constant('wasm/run') }, fc.string({ maxLength: 8 })),
    rsc
  }, { requiredKeys: ['input', 'op', 'rsc'] })
}, { requiredKeys: ['run', 'meta', 'prf'] })
const workflow = fc.oneof({ weight: 6, arbitrary: fc.record({ tasks: fc.array(taskJson, { minLength: 1, maxLength: 3 }) }) }, fc.record({ tasks: json }), json)
const runParams = fc.oneof(
  workflow.map(w => [{ name: 'fuzz', workflow: w }]),
  workflow.map(w => ({ workflow: w })),
  workflow.map(w => [Array.from(encode(parseJson(JSON.stringify({ name: 'bytes', workflow: w }))))]),
  fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 40 }).map(bytes => [bytes])
)
const request = fc.record({
  jsonrpc: fc.oneof({ weight: 6, arbitrary: fc.constant('2.0') }, fc.constantFrom('1.0', 2, null, undefined)),
  id,
  method,
  params,
  extra: fc.option(json)
}).map(r => {
  const out: Record<string, unknown> = { ...r }
  if (r.extra === null) delete out.extra
  return out
})
/** Well-formed requests of every method, with params that are often right. */
const validId = fc.oneof(fc.integer(), fc.string({ maxLength: 12 }))
const wellFormed = fc.record({
  id: fc.oneof({ weight: 9, arbitrary: validId }, fc.constant(undefined)),
  method: fc.constantFrom(...apiMethods),
  params: fc.oneof(fc.constant(undefined), fc.constant([]), fc.constant({}), fc.string({ maxLength: 20 }).map(x => [x]), fc.record({ prefix: fc.string({ maxLength: 6 }) }).map(x => [x]), params)
}).map(r => ({ jsonrpc: '2.0', ...r }))
const runRequest = fc.record({ id: fc.oneof(fc.integer(), fc.constant(undefined)), params: runParams }).map(r => ({ jsonrpc: '2.0', id: r.id, method: 'subscribe_run_workflow', params: r.params }))
const mutated = fc.tuple(fc.oneof(wellFormed, runRequest).map(r => JSON.stringify(r)), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 4 }))
  .map(([text, edits]) => edits.reduce((t, [at, del, ins]) => { const i = at % (t.length + 1); return t.slice(0, i) + ins + t.slice(i + del) }, text))
const hugeNumbers = fc.tuple(fc.constantFrom(...HUGE_NUMBERS), fc.constantFrom(...HUGE_NUMBERS), fc.constantFrom('health', 'metrics', 'unsubscribe_run_workflow'))
  .map(([a, b, m]) => `{"jsonrpc":"2.0","id":${a},"method":"${m}","params":[${b}]}`)
const deep = fc.tuple(fc.integer({ min: MAX_DEPTH - 3, max: 20_000 }), fc.integer({ min: 0, max: 20_000 }), fc.constantFrom('[', '{"a":'))
  .map(([open, close, token]) => `{"jsonrpc":"2.0","id":1,"method":"health","params":${token.repeat(open)}${token === '[' ? ']'.repeat(close) : '1' + '}'.repeat(close)}}`)

const frame = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 2, arbitrary: json.map(v => JSON.stringify(v)) },
  { weight: 3, arbitrary: request.map(r => JSON.stringify(r)) },
  { weight: 5, arbitrary: wellFormed.map(r => JSON.stringify(r)) },
  { weight: 3, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: wellFormed }, request, runRequest, json), { maxLength: MAX_BATCH + 5 }).map(b => JSON.stringify(b)) },
  { weight: 4, arbitrary: runRequest.map(r => JSON.stringify(r)) },
  { weight: 4, arbitrary: mutated },
  { weight: 1, arbitrary: hugeNumbers },
  { weight: 1, arbitrary: deep }
)

// ---- what JSON-RPC 2.0 owes a message

type Owed = { kind: 'none' } | { kind: 'single', id: unknown, code?: number } | { kind: 'batch', ids: unknown[] }

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A request this node answers with nothing: a well-formed request without an id. */
function isNotification (m: unknown): boolean {
  return isObject(m) && m.jsonrpc === '2.0' && typeof m.method === 'string' && !('id' in m) &&
    (m.params === undefined || (typeof m.params === 'object' && m.params !== null)) && !('result' in m) && !('error' in m)
}

/** The id a response must carry: the request's when it has a valid one (as JSON writes it back), else null. */
function echoedId (m: unknown): unknown {
  if (!isObject(m) || !('id' in m)) return null
  const v = m.id
  return typeof v === 'string' || typeof v === 'number' || v === null ? JSON.parse(JSON.stringify(v)) : null
}

function owed (sent: string): Owed {
  if (jsonNestingExceeds(sent, MAX_DEPTH)) return { kind: 'single', id: null, code: -32600 }
  let m: unknown
  try {
    m = JSON.parse(sent)
  } catch {
    return { kind: 'single', id: null, code: -32700 }
  }
  if (Array.isArray(m)) {
    if (m.length === 0) return { kind: 'single', id: null, code: -32600 }
    if (m.length > MAX_BATCH) return { kind: 'single', id: null, code: -32005 }
    const ids = m.filter(x => !isNotification(x)).map(echoedId)
    return ids.length === 0 ? { kind: 'none' } : { kind: 'batch', ids }
  }
  return isNotification(m) ? { kind: 'none' } : { kind: 'single', id: echoedId(m) }
}

/** Strict JSON-RPC 2.0 response shape; returns the response. */
function checkResponse (r: unknown): Record<string, unknown> {
  if (!isObject(r)) throw new Error(`response is not an object: ${JSON.stringify(r)}`)
  const keys = Object.keys(r).sort()
  const hasResult = 'result' in r
  const hasError = 'error' in r
  if (r.jsonrpc !== '2.0') throw new Error(`jsonrpc must be "2.0": ${JSON.stringify(r)}`)
  if (hasResult === hasError) throw new Error(`exactly one of result and error: ${JSON.stringify(r)}`)
  if (JSON.stringify(keys) !== JSON.stringify(['id', 'jsonrpc', hasResult ? 'result' : 'error'].sort())) throw new Error(`unexpected members: ${keys.join(',')}`)
  if (!(typeof r.id === 'string' || typeof r.id === 'number' || r.id === null)) throw new Error(`bad id: ${JSON.stringify(r.id)}`)
  if (hasError) {
    const e = r.error
    if (!isObject(e) || !Number.isInteger(e.code) || typeof e.message !== 'string') throw new Error(`bad error object: ${JSON.stringify(e)}`)
    if (Object.keys(e).some(k => !['code', 'message', 'data'].includes(k))) throw new Error(`bad error members: ${JSON.stringify(e)}`)
    if (!KNOWN_CODES.has(e.code as number)) throw new Error(`unknown error code: ${JSON.stringify(e)}`)
    if (e.code === -32603) throw new Error(`internal error: ${JSON.stringify(e)}`)
    if (!isObject(e.data) || typeof e.data.code !== 'string' || typeof e.data.message !== 'string') throw new Error(`data must give the node's code and message: ${JSON.stringify(e)}`)
  }
  return r
}

function checkReplies (sent: string, replies: unknown[]): void {
  const want = owed(sent)
  const context = `for ${JSON.stringify(sent.slice(0, 300))}: got ${JSON.stringify(replies).slice(0, 600)}`
  if (want.kind === 'none') {
    if (replies.length !== 0) throw new Error(`no reply was owed ${context}`)
    return
  }
  if (replies.length !== 1) throw new Error(`one reply was owed ${context}`)
  const reply = replies[0]
  if (want.kind === 'single') {
    const r = checkResponse(reply)
    if (JSON.stringify(r.id) !== JSON.stringify(want.id)) throw new Error(`id ${JSON.stringify(want.id)} expected ${context}`)
    if (want.code !== undefined && (r.error as { code?: number } | undefined)?.code !== want.code) throw new Error(`error ${want.code} expected ${context}`)
    return
  }
  if (!Array.isArray(reply)) throw new Error(`a batch reply was owed ${context}`)
  const got = reply.map(x => JSON.stringify(checkResponse(x).id)).sort()
  const ids = want.ids.map(x => JSON.stringify(x)).sort()
  if (JSON.stringify(got) !== JSON.stringify(ids)) throw new Error(`ids ${ids.join(',')} expected ${context}`)
}

function checkNotification (n: Record<string, unknown>): void {
  const p = n.params as Record<string, unknown> | undefined
  if (n.jsonrpc !== '2.0' || typeof n.method !== 'string' || 'id' in n || !isObject(p) || typeof p.subscription !== 'string' || !('result' in p)) {
    throw new Error(`bad notification: ${JSON.stringify(n).slice(0, 300)}`)
  }
}

/** What a string becomes on the wire (lone surrogates turn into U+FFFD). */
const onWire = (text: string): string => Buffer.from(text, 'utf8').toString('utf8')

describe('fuzzing the JSON-RPC surface', () => {
  let t: TestNode
  beforeAll(async () => {
    t = await startTestNode({
      config: {
        rpc: { max_batch: MAX_BATCH, max_json_depth: MAX_DEPTH, max_frame_bytes: 1024 * 1024, max_requests_per_second: 0 },
        workflow: { retries: 0, max_runs: 4, max_queued_runs: 16 },
        network: { enable: false }
      }
    })
  })
  afterAll(async () => { await t.close() })

  it(`over WebSocket: ${WS_RUNS} messages, each answered exactly as owed`, async () => {
    const s = await RawSocket.open(t.url)
    let n = 0
    await fc.assert(fc.asyncProperty(frame, async text => {
      const sentinel = `sentinel-${n++}`
      s.send(text)
      s.send(JSON.stringify({ jsonrpc: '2.0', id: sentinel, method: 'health' }))
      const replies: unknown[] = []
      for (;;) {
        const m = await s.next(10_000)
        if (isObject(m) && 'method' in m) { checkNotification(m); continue }
        if (isObject(m) && m.id === sentinel) { expect(m.result).toEqual({ healthy: true }); break }
        replies.push(m)
      }
      checkReplies(onWire(text), replies)
    }), { numRuns: WS_RUNS, endOnFailure: true })
    expect(s.closeCode).toBeUndefined()
    s.close()
  }, 60_000)

  it(`over HTTP: ${HTTP_RUNS} bodies, each answered exactly as owed`, async () => {
    await fc.assert(fc.asyncProperty(frame, async text => {
      const res = await fetch(`${t.httpUrl}/`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } })
      const body = await res.text()
      if (res.status === 204) {
        expect(body).toBe('')
        checkReplies(onWire(text), [])
      } else {
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toBe('application/json')
        checkReplies(onWire(text), [JSON.parse(body)])
      }
    }), { numRuns: HTTP_RUNS, endOnFailure: true })
  }, 60_000)

  it('afterwards the node is healthy and serves new clients', async () => {
    expect(await t.client.health()).toEqual({ healthy: true })
    expect((await fetch(`${t.httpUrl}/health`)).status).toBe(200)
    const s = await RawSocket.open(t.url)
    expect(await s.request({ jsonrpc: '2.0', id: 1, method: 'node' })).toMatchObject({ id: 1, result: { static: { peer_id: t.node.peerId } } })
    s.close()
  })
})
