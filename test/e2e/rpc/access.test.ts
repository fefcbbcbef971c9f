import { request } from 'node:http'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { PartialConfig } from '../../../src/config/index.js'
import { createLogger, silentLogger } from '../../../src/util/logger.js'
import { startBareNode } from '../../utils/node.js'

const EVIL = 'https://evil.example'
const HEALTH = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' })
const cleanups: Array<() => Promise<void>> = []

async function startNode (config: PartialConfig = {}, logger = silentLogger()): Promise<string> {
  const { httpUrl, close } = await startBareNode({ network: { enable: false }, metrics: { enable: false }, ...config }, logger)
  cleanups.push(close)
  return httpUrl
}

async function closeAll (): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c()
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: any }

/** One HTTP request with exactly the given headers (Host and Origin included); `upgrade` asks for a WebSocket. */
async function send (base: string, opts: { method?: string, path?: string, headers?: Record<string, string>, body?: string, upgrade?: boolean } = {}): Promise<Answer> {
  const url = new URL(opts.path ?? '/', base)
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.upgrade === true) Object.assign(headers, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') })
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json'
  return await new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'), headers, agent: false, timeout: 5000 }, res => {
      let text = ''
      res.on('data', (d: Buffer) => { text += String(d) })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }))
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode!, headers: res.headers, body: undefined })
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

describe('the default access settings', () => {
  let http: string
  let port: string
  beforeAll(async () => {
    http = await startNode()
    port = new URL(http).port
  })
  afterAll(closeAll)

  it('a page of another origin cannot read: POST / is refused with 403, no CORS header, and a body naming the setting', async () => {
    const r = await send(http, { body: HEALTH, headers: { origin: EVIL } })
    expect(r.status).toBe(403)
    expect(r.headers['access-control-allow-origin']).toBeUndefined()
    expect(r.body).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32006,
        message: 'origin https://evil.example is not allowed; add it to rpc.allowed_origins',
        data: { code: 'RPC_ORIGIN_NOT_ALLOWED', message: 'origin https://evil.example is not allowed; add it to rpc.allowed_origins', setting: 'rpc.allowed_origins' }
      }
    })
  })

  it('nor preflight, GET routes or uploads', async () => {
    const pre = await send(http, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    expect(pre.status).toBe(403)
    expect(pre.headers['access-control-allow-origin']).toBeUndefined()
    expect(pre.headers['access-control-allow-methods']).toBeUndefined()
    for (const r of [await send(http, { path: '/health', headers: { origin: EVIL } }), await send(http, { path: '/add', body: 'hello', headers: { origin: EVIL, 'content-type': 'text/plain' } })]) {
      expect(r.status).toBe(403)
      expect(r.headers['access-control-allow-origin']).toBeUndefined()
      expect(r.body.error.data.code).toBe('RPC_ORIGIN_NOT_ALLOWED')
    }
  })

  it('nor open a WebSocket', async () => {
    const r = await send(http, { upgrade: true, headers: { origin: EVIL } })
    expect(r.status).toBe(403)
    expect(r.body).toMatchObject({ id: null, error: { code: -32006, data: { code: 'RPC_ORIGIN_NOT_ALLOWED', setting: 'rpc.allowed_origins' } } })
  })

  it('origins without an origin of their own (null, malformed) are refused', async () => {
    for (const origin of ['null', 'not a url', 'file://', 'http://localhost:3000/path']) {
      expect((await send(http, { body: HEALTH, headers: { origin } })).status, origin).toBe(403)
      expect((await send(http, { upgrade: true, headers: { origin } })).status, origin).toBe(403)
    }
  })

  it('a page on http://localhost at any port is served, with its origin echoed', async () => {
    for (const origin of ['http://localhost:5173', 'http://localhost:8080', 'http://localhost', 'http://127.0.0.1:3000', 'http://[::1]:4000']) {
      const r = await send(http, { body: HEALTH, headers: { origin } })
      expect(r.status, origin).toBe(200)
      expect(r.body).toEqual({ jsonrpc: '2.0', id: 1, result: { healthy: true } })
      expect(r.headers['access-control-allow-origin']).toBe(origin)
      expect(r.headers.vary).toBe('Origin')
      expect((await send(http, { upgrade: true, headers: { origin } })).status, origin).toBe(101)
    }
    const pre = await send(http, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } })
    expect(pre.status).toBe(204)
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    expect(pre.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS')
    expect(pre.headers['access-control-allow-headers']).toBe('content-type, authorization')
  })

  it('the scheme counts: https://localhost is not http://localhost', async () => {
    expect((await send(http, { body: HEALTH, headers: { origin: 'https://localhost:5173' } })).status).toBe(403)
    expect((await send(http, { upgrade: true, headers: { origin: `https://127.0.0.1:${port}` } })).status).toBe(403)
  })

  it('a client that is not a browser (no Origin) is served without CORS headers', async () => {
    const r = await send(http, { body: HEALTH })
    expect(r.status).toBe(200)
    expect(r.headers['access-control-allow-origin']).toBeUndefined()
    expect((await send(http, { upgrade: true })).status).toBe(101)
  })

  it('a foreign Host header gets 403 on HTTP and on the WebSocket upgrade (DNS rebinding)', async () => {
    const host = 'evil.example:1337'
    for (const r of [await send(http, { body: HEALTH, headers: { host } }), await send(http, { path: '/health', headers: { host } }), await send(http, { upgrade: true, headers: { host } })]) {
      expect(r.status).toBe(403)
      expect(r.headers['access-control-allow-origin']).toBeUndefined()
      expect(r.body).toMatchObject({
        id: null,
        error: { code: -32006, message: 'host evil.example is not allowed; add it to rpc.allowed_hosts', data: { code: 'RPC_HOST_NOT_ALLOWED', setting: 'rpc.allowed_hosts' } }
      })
    }
    // the page the rebinding attack serves is "same origin" with that host, which does not help it
    expect((await send(http, { body: HEALTH, headers: { host, origin: `http://${host}` } })).status).toBe(403)
  })

  it('loopback names are hosts of the node, whatever the port', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'localhost:1']) {
      expect((await send(http, { body: HEALTH, headers: { host } })).status, host).toBe(200)
    }
  })
})

describe('the node\'s own origin', () => {
  let http: string
  let port: number
  beforeAll(async () => {
    http = await startNode({ rpc: { allowed_origins: [] } })
    port = Number(new URL(http).port)
  })
  afterAll(closeAll)

  it('is http://<Host>: same scheme, host and port', async () => {
    expect((await send(http, { body: HEALTH, headers: { origin: `http://127.0.0.1:${port}` } })).status).toBe(200)
    expect((await send(http, { upgrade: true, headers: { origin: `http://127.0.0.1:${port}` } })).status).toBe(101)
    expect((await send(http, { body: HEALTH, headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } })).status).toBe(200)
    for (const origin of [`http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      expect((await send(http, { body: HEALTH, headers: { origin } })).status, origin).toBe(403)
      expect((await send(http, { upgrade: true, headers: { origin } })).status, origin).toBe(403)
    }
  })
})

describe('opening the node wider', () => {
  afterEach(closeAll)

  async function startWithLog (rpc: PartialConfig['rpc']): Promise<{ http: string, warnings: string[] }> {
    const lines: string[] = []
    const destination = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(l => l !== '')); done() } })
    const http = await startNode({ rpc }, createLogger({ level: 'warn', destination }))
    await new Promise(resolve => setImmediate(resolve))
    return { http, warnings: lines.map(l => JSON.parse(l) as { level: number, msg: string }).filter(l => l.level === 40).map(l => l.msg) }
  }

  it('allowed_origins = ["*"] lets a page of any origin in, with ACAO *, and is logged as a warning', async () => {
    const { http, warnings } = await startWithLog({ allowed_origins: ['*'] })
    expect(warnings.some(w => w.includes('rpc.allowed_origins') && w.includes('"*"'))).toBe(true)
    const r = await send(http, { body: HEALTH, headers: { origin: EVIL } })
    expect(r.status).toBe(200)
    expect(r.headers['access-control-allow-origin']).toBe('*')
    expect((await send(http, { method: 'OPTIONS', headers: { origin: EVIL } })).status).toBe(204)
    expect((await send(http, { upgrade: true, headers: { origin: EVIL } })).status).toBe(101)
  })

  it('an exact origin in allowed_origins is let in, another one is not', async () => {
    const { http, warnings } = await startWithLog({ allowed_origins: ['https://app.example.com'] })
    expect(warnings).toEqual([])
    const ok = await send(http, { body: HEALTH, headers: { origin: 'https://app.example.com' } })
    expect(ok.status).toBe(200)
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect((await send(http, { body: HEALTH, headers: { origin: 'https://app.example.com:8443' } })).status).toBe(403)
    expect((await send(http, { body: HEALTH, headers: { origin: 'http://localhost:5173' } })).status).toBe(403)
  })

  it('a name in allowed_hosts is answered; "*" answers any and is logged as a warning', async () => {
    const named = await startWithLog({ allowed_hosts: ['node.example'] })
    expect(named.warnings).toEqual([])
    expect((await send(named.http, { body: HEALTH, headers: { host: 'node.example:1337' } })).status).toBe(200)
    expect((await send(named.http, { body: HEALTH, headers: { host: 'evil.example' } })).status).toBe(403)
    const any = await startWithLog({ allowed_hosts: ['*'] })
    expect(any.warnings.some(w => w.includes('rpc.allowed_hosts') && w.includes('"*"'))).toBe(true)
    expect((await send(any.http, { body: HEALTH, headers: { host: 'evil.example:1337' } })).status).toBe(200)
  })
})

describe('the token and the origin together', () => {
  let http: string
  beforeAll(async () => { http = await startNode({ rpc: { auth_token: 'tok' } }) })
  afterAll(closeAll)

  it('an allowed page without the token gets a 401 it can read; a foreign page gets 403 even with the token', async () => {
    const origin = 'http://localhost:5173'
    const noToken = await send(http, { body: HEALTH, headers: { origin } })
    expect(noToken.status).toBe(401)
    expect(noToken.headers['www-authenticate']).toBe('Bearer')
    expect(noToken.headers['access-control-allow-origin']).toBe(origin)
    expect(noToken.body.error.data).toMatchObject({ code: 'RPC_UNAUTHORIZED', setting: 'rpc.auth_token' })
    // a preflight carries no token
    expect((await send(http, { method: 'OPTIONS', headers: { origin } })).status).toBe(204)
    expect((await send(http, { body: HEALTH, headers: { origin, authorization: 'Bearer tok' } })).status).toBe(200)
    expect((await send(http, { body: HEALTH, headers: { origin: EVIL, authorization: 'Bearer tok' } })).status).toBe(403)
    expect((await send(http, { upgrade: true, headers: { origin: EVIL, authorization: 'Bearer tok' } })).status).toBe(403)
  })
})
