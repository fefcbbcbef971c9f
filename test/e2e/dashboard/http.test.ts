import { readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DASHBOARD_ASSETS, DASHBOARD_PAGE_PATHS, defaultDashboardOptions } from '../../../src/dashboard/index.js'
import { collectRun } from '../../../src/client/index.js'
import { startBareNode, startTestNode, type TestNode } from '../../utils/node.js'
import { chain, instructionCid, workflowCid } from '../../utils/workflows.js'

interface RawResponse { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** A GET with the path sent exactly as given (fetch would normalize `..` away before sending). */
async function rawGet (port: number, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers, timeout: 5000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml; charset=utf-8'
}

const RSC = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'

describe('dashboard files over HTTP', () => {
  let t: TestNode
  const packageJson = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')

  beforeAll(async () => { t = await startTestNode({ config: { network: { enable: false } } }) }, 30_000)
  afterAll(async () => { await t?.close() })

  it('lists exactly the files of the assets folder', () => {
    expect([...DASHBOARD_ASSETS].sort()).toEqual(readdirSync(defaultDashboardOptions.assetsDir).sort())
  })

  it('serves the page on / with a strict content security policy and no caching', async () => {
    for (const path of DASHBOARD_PAGE_PATHS) {
      const res = await rawGet(t.node.rpcPort, path)
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toBe(CONTENT_TYPES.html)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['content-security-policy']).toContain("default-src 'none'")
      expect(res.headers['content-security-policy']).toContain("script-src 'self'")
      expect(res.headers['content-security-policy']).toContain("connect-src 'self'")
      expect(res.body).toBe(readFileSync(join(defaultDashboardOptions.assetsDir, 'index.html'), 'utf8'))
    }
  })

  it('serves every file with its content type, an ETag, and 304 when unchanged', async () => {
    for (const name of DASHBOARD_ASSETS) {
      if (name === 'index.html') continue
      const res = await rawGet(t.node.rpcPort, `/ui/${name}`)
      expect(res.status, name).toBe(200)
      expect(res.headers['content-type'], name).toBe(CONTENT_TYPES[name.split('.').pop()!])
      expect(res.headers['cache-control']).toBe('no-cache')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.body).toBe(readFileSync(join(defaultDashboardOptions.assetsDir, name), 'utf8'))
      const etag = res.headers.etag as string
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
      const again = await rawGet(t.node.rpcPort, `/ui/${name}`, { 'if-none-match': `W/"other", ${etag}` })
      expect(again.status).toBe(304)
      expect(again.body).toBe('')
      expect(again.headers.etag).toBe(etag)
      expect((await rawGet(t.node.rpcPort, `/ui/${name}`, { 'if-none-match': '"stale"' })).status).toBe(200)
    }
  })

  it('never serves a file outside the list, however the path is spelled', async () => {
    const attempts = [
      '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/%2e%2e%2fpackage.json',
      '/ui/%252e%252e/package.json', '/ui/....//package.json', '/ui//package.json', '/ui/app.js/../../package.json',
      '/ui/..%5cpackage.json', '/ui/style.css%00.js', '/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/../src/node.ts', '/ui/../ui/../package.json', '/package.json', '/ui/nope.js', '/ui/APP.JS', '/ui/.', '/ui/..',
      `/ui/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd`, '/ui/%2fetc%2fpasswd'
    ]
    for (const path of attempts) {
      const res = await rawGet(t.node.rpcPort, path)
      // '/ui/..' and '/ui/.' normalize to a page path: they get the page, nothing else
      if (res.status === 200) {
        expect(res.headers['content-type'], path).toBe(CONTENT_TYPES.html)
        expect(res.body, path).toContain('<title>ipvm node</title>')
      } else {
        expect(res.status, path).toBe(404)
      }
      expect(res.body, path).not.toContain('"name": "ipvm-node"')
      expect(res.body, path).not.toContain(packageJson.slice(0, 40))
      expect(res.body, path).not.toContain('root:')
      expect(res.body, path).not.toContain('IpvmNode')
    }
  })

  it('plans a workflow: CIDs and awaits as the node computes them', async () => {
    const wf = chain(RSC, 3, 1)
    const res = await fetch(`${t.httpUrl}/ui/plan`, { method: 'POST', body: JSON.stringify(wf) })
    expect(res.status).toBe(200)
    const plan = await res.json() as { workflow: string, tasks: Array<{ index: number, instruction: string, ran: string, func: string, op: string, resource: string, awaits: unknown[] }> }
    expect(plan.workflow).toBe(workflowCid(wf))
    expect(plan.tasks.map(p => p.instruction)).toEqual(wf.tasks.map(instructionCid))
    expect(plan.tasks.map(p => p.func)).toEqual(['add_one', 'add_one', 'add_one'])
    expect(plan.tasks[0]).toMatchObject({ index: 0, op: 'wasm/run', resource: RSC, awaits: [] })
    expect(plan.tasks[1].awaits).toEqual([{ cid: instructionCid(wf.tasks[0]), branch: 'ok', task: 0 }])
    expect(plan.tasks[2].awaits).toEqual([{ cid: instructionCid(wf.tasks[1]), branch: 'ok', task: 1 }])
    expect(new Set(plan.tasks.map(p => p.ran)).size).toBe(3)
    expect(plan.tasks.every(p => /^bafyr/.test(p.ran))).toBe(true)
  })

  it('plans a workflow the node stored, by its CID, including an await inside an ipvm/sleep value', async () => {
    const first = chain(RSC, 1, 7).tasks[0]
    const nap = { cause: null, meta: {}, prf: [], run: { input: { duration_ms: 1, value: { 'await/ok': { '/': instructionCid(first) } } }, nnc: '', op: 'ipvm/sleep', rsc: 'ipvm:sleep' } }
    const wf = { tasks: [first, nap] }
    const cid = workflowCid(wf)
    // the POST form draws the sleep's await too
    const posted = await (await fetch(`${t.httpUrl}/ui/plan`, { method: 'POST', body: JSON.stringify(wf) })).json() as { tasks: Array<{ awaits: unknown[] }> }
    expect(posted.tasks[1].awaits).toEqual([{ cid: instructionCid(first), branch: 'ok', task: 0 }])
    expect(await rawGet(t.node.rpcPort, `/ui/plan?workflow=${cid}`)).toMatchObject({ status: 404 })
    // stored when submitted (its Wasm is missing: the run fails, the workflow stays known)
    await collectRun(await t.client.runWorkflow(wf), 20_000)
    const res = await rawGet(t.node.rpcPort, `/ui/plan?workflow=${cid}`)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual(posted)
    expect((await rawGet(t.node.rpcPort, '/ui/plan?workflow=not-a-cid')).status).toBe(400)
  })

  it('refuses a workflow text the node cannot read, with the node\'s error code', async () => {
    const res = await fetch(`${t.httpUrl}/ui/plan`, { method: 'POST', body: '{"tasks": [' })
    expect(res.status).toBe(400)
    const body = await res.json() as { error: { data: { code: string } } }
    expect(body.error.data.code).toBe('IPLD_JSON_SYNTAX')
    const notWorkflow = await fetch(`${t.httpUrl}/ui/plan`, { method: 'POST', body: '{"tasks": 3}' })
    expect(notWorkflow.status).toBe(400)
    expect(((await notWorkflow.json()) as { error: { data: { code: string } } }).error.data.code).toMatch(/^IPLD_/)
  })
})

describe('dashboard on a node that needs a token', () => {
  let t: Awaited<ReturnType<typeof startBareNode>>
  const token = 'a secret/with&odd=chars'

  beforeAll(async () => { t = await startBareNode({ rpc: { auth_token: token, max_frame_bytes: 4096 }, network: { enable: false } }) }, 30_000)
  afterAll(async () => { await t?.close() })

  it('serves nothing without the token', async () => {
    expect((await rawGet(t.node.rpcPort, '/')).status).toBe(401)
    expect((await rawGet(t.node.rpcPort, '/ui/app.js')).status).toBe(401)
  })

  it('gives the token to the page\'s links and module imports, allowing the import map by its hash', async () => {
    const q = `?token=${encodeURIComponent(token)}`
    const res = await rawGet(t.node.rpcPort, `/${q}`)
    expect(res.status).toBe(200)
    expect(res.body).toContain(`<link rel="stylesheet" href="/ui/style.css${q}">`)
    expect(res.body).toContain(`<script type="module" src="/ui/app.js${q}">`)
    const map = /<script type="importmap">(.*?)<\/script>/.exec(res.body)![1]
    const imports = (JSON.parse(map) as { imports: Record<string, string> }).imports
    expect(imports['/ui/rpc.js']).toBe(`/ui/rpc.js${q}`)
    expect(Object.keys(imports).sort()).toEqual(DASHBOARD_ASSETS.filter(n => n.endsWith('.js')).map(n => `/ui/${n}`).sort())
    const hash = createHash('sha256').update(map).digest('base64')
    expect(res.headers['content-security-policy']).toContain(`script-src 'self' 'sha256-${hash}'`)
    expect((await rawGet(t.node.rpcPort, `/ui/rpc.js${q}`)).status).toBe(200)
  })

  it('refuses a plan larger than the frame limit', async () => {
    const res = await fetch(`${t.httpUrl}/ui/plan?token=${encodeURIComponent(token)}`, { method: 'POST', body: JSON.stringify({ tasks: [], pad: 'x'.repeat(5000) }) })
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('RPC_UPLOAD_TOO_LARGE')
  })
})
