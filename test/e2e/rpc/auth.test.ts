import { Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { IpvmClient, RpcClientError } from '../../../src/client/index.js'
import { type IpvmNode } from '../../../src/node/index.js'
import { createLogger, silentLogger } from '../../../src/util/logger.js'
import type { PartialConfig } from '../../../src/config/index.js'
import { hasBearerToken, isLoopbackHost } from '../../../src/rpc/index.js'
import { startBareNode } from '../../utils/node.js'
import { frameText } from '../../utils/ws.js'

const TOKEN = 's3cret-token-for-tests'
const cleanups: Array<() => Promise<void> | void> = []

async function startNode (config: PartialConfig, logger = silentLogger()): Promise<IpvmNode> {
  const { node, close } = await startBareNode({ network: { enable: false }, metrics: { enable: false }, ...config }, logger)
  cleanups.push(close)
  return node
}

/** Opens a WebSocket; resolves with 'open', or with the HTTP status and JSON body of a refusal. */
async function tryConnect (url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket, status?: number, body?: any, authenticate?: string }> {
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.once('open', () => resolve({ ws }))
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += String(d) })
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode, body: JSON.parse(text), authenticate: res.headers['www-authenticate'] })
      })
    })
  })
}

async function wsHealth (ws: WebSocket): Promise<unknown> {
  const reply = new Promise<unknown>(resolve => ws.once('message', d => resolve(JSON.parse(frameText(d)))))
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }))
  const r = await reply
  ws.terminate()
  return r
}

describe('rpc.auth_token', () => {
  let node: IpvmNode
  let ws: string
  let http: string
  beforeAll(async () => {
    node = await startNode({ rpc: { auth_token: TOKEN } })
    ws = node.rpcUrl
    http = ws.replace(/^ws:/, 'http:')
  })
  afterAll(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  it('a WebSocket with the token in the Authorization header or in ?token= is served', async () => {
    const byHeader = await tryConnect(ws, { authorization: `Bearer ${TOKEN}` })
    expect(await wsHealth(byHeader.ws!)).toEqual({ jsonrpc: '2.0', id: 1, result: { healthy: true } })
    const byQuery = await tryConnect(`${ws}/?token=${encodeURIComponent(TOKEN)}`)
    expect(await wsHealth(byQuery.ws!)).toMatchObject({ result: { healthy: true } })
    const client = await IpvmClient.connect(ws, { token: TOKEN })
    expect(await client.health()).toEqual({ healthy: true })
    await client.close()
  })

  it.each([
    ['no token', ws => [ws, {}]],
    ['a wrong token', ws => [ws, { authorization: 'Bearer nope' }]],
    ['the token with a suffix', ws => [ws, { authorization: `Bearer ${TOKEN}x` }]],
    ['a prefix of the token', ws => [ws, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }]],
    ['another scheme', ws => [ws, { authorization: `Basic ${TOKEN}` }]],
    ['a wrong ?token=', ws => [`${ws}/?token=nope`, {}]]
  ] as Array<[string, (ws: string) => [string, Record<string, string>]]>)('a WebSocket with %s gets HTTP 401 and a JSON-RPC error', async (_name, make) => {
    const [url, headers] = make(ws)
    const r = await tryConnect(url, headers)
    expect(r.ws).toBeUndefined()
    expect(r.status).toBe(401)
    expect(r.authenticate).toBe('Bearer')
    expect(r.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32006, data: { code: 'RPC_UNAUTHORIZED' } } })
  })

  it('the client reports a refused connection as -32006', async () => {
    const err = await IpvmClient.connect(ws, { token: 'wrong' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RpcClientError)
    expect((err as RpcClientError).code).toBe(-32006)
  })

  it('HTTP POST needs the header; without it or with a wrong one: 401 and -32006', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' })
    const ok = await fetch(`${http}/`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ jsonrpc: '2.0', id: 1, result: { healthy: true } })
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }] as Array<Record<string, string>>) {
      const r = await fetch(`${http}/`, { method: 'POST', body, headers })
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
      expect(await r.json()).toMatchObject({ id: null, error: { code: -32006, data: { code: 'RPC_UNAUTHORIZED' } } })
    }
  })

  it('GET routes and uploads are behind the token too', async () => {
    expect((await fetch(`${http}/health`)).status).toBe(401)
    expect((await fetch(`${http}/metrics`)).status).toBe(401)
    expect((await fetch(`${http}/add`, { method: 'POST', body: 'hello' })).status).toBe(401)
    const health = await fetch(`${http}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(health.status).toBe(200)
    const added = await fetch(`${http}/add`, { method: 'POST', body: 'hello', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(added.status).toBe(200)
    expect((await added.json() as { cid: string }).cid).toMatch(/^bafk/)
  })
})

describe('hasBearerToken and isLoopbackHost', () => {
  const req = (url: string, authorization?: string): any => ({ url, headers: authorization === undefined ? {} : { authorization } })
  it('an empty token lets everything in; otherwise the exact token only', () => {
    expect(hasBearerToken(req('/'), '')).toBe(true)
    expect(hasBearerToken(req('/', 'Bearer abc'), 'abc')).toBe(true)
    expect(hasBearerToken(req('/', 'bearer abc'), 'abc')).toBe(true)
    expect(hasBearerToken(req('/?token=abc'), 'abc')).toBe(true)
    expect(hasBearerToken(req('/?token=ab'), 'abc')).toBe(false)
    expect(hasBearerToken(req('/', 'Bearer '), 'abc')).toBe(false)
    expect(hasBearerToken(req('/'), 'abc')).toBe(false)
  })

  it('loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h)).toBe(true)
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com']) expect(isLoopbackHost(h)).toBe(false)
  })
})

describe('the warning for an open RPC port', () => {
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  async function startWithLog (rpc: PartialConfig['rpc']): Promise<Array<{ level: number, msg: string }>> {
    const lines: string[] = []
    const destination = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(l => l !== '')); done() } })
    await startNode({ rpc }, createLogger({ level: 'warn', destination }))
    await new Promise(resolve => setImmediate(resolve))
    return lines.map(l => JSON.parse(l) as { level: number, msg: string })
  }

  const warned = (lines: Array<{ level: number, msg: string }>): boolean => lines.some(l => l.level === 40 && /non-loopback/.test(l.msg) && /auth_token/.test(l.msg))

  it('is logged when the port listens beyond loopback without a token', async () => {
    expect(warned(await startWithLog({ host: '0.0.0.0', port: 0 }))).toBe(true)
  })

  it('is not logged on loopback, nor with a token', async () => {
    expect(warned(await startWithLog({ host: '127.0.0.1', port: 0 }))).toBe(false)
    expect(warned(await startWithLog({ host: '0.0.0.0', port: 0, auth_token: TOKEN }))).toBe(false)
  })
})

describe('browser pages of other origins', () => {
  let ws: string
  beforeAll(async () => { ws = (await startNode({})).rpcUrl })
  afterAll(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  it('a WebSocket opened by a page of another origin gets HTTP 403', async () => {
    const r = await tryConnect(ws, { origin: 'https://evil.example' })
    expect(r.ws).toBeUndefined()
    expect(r.status).toBe(403)
    expect(r.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32006, data: { code: 'RPC_ORIGIN_NOT_ALLOWED', setting: 'rpc.allowed_origins' } } })
    expect((await tryConnect(ws, { origin: 'not a url' })).status).toBe(403)
  })

  it('the node\'s own pages and clients without an Origin are served', async () => {
    const host = new URL(ws).host
    const same = await tryConnect(ws, { origin: `http://${host}` })
    expect(await wsHealth(same.ws!)).toMatchObject({ result: { healthy: true } })
    const none = await tryConnect(ws)
    expect(await wsHealth(none.ws!)).toMatchObject({ result: { healthy: true } })
  })
})

describe('rpc.max_upload_bytes', () => {
  let http: string
  beforeAll(async () => { http = (await startNode({ rpc: { max_upload_bytes: 1000 } })).rpcUrl.replace(/^ws:/, 'http:') })
  afterAll(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  it('an upload over the limit is refused with 413 and a limit error; the node goes on serving', async () => {
    const big = await fetch(`${http}/add`, { method: 'POST', body: new Uint8Array(5000).fill(7) })
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ id: null, error: { code: -32005, data: { code: 'RPC_UPLOAD_TOO_LARGE', limit: 1000 } } })
    const small = await fetch(`${http}/add`, { method: 'POST', body: new Uint8Array(1000).fill(7) })
    expect(small.status).toBe(200)
    expect((await small.json() as { cid: string }).cid).toMatch(/^bafk/)
    const health = await fetch(`${http}/health`)
    expect(health.status).toBe(200)
  })
})
