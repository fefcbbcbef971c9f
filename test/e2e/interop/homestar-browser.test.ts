import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { collectRun, type SubscriptionStream, type RunNotification } from '../../../src/client/index.js'
import { browserSuite, HAVE_CHROMIUM, openBrowser, watchConsole } from '../../utils/chromium.js'
import { runStatus, sleepTask, waitForStatus } from '../../utils/control.js'
import { startTestNode, tempDir, type TestNode } from '../../utils/node.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addOneFixture, addOnePartOneFixture, addResource, task, workflowCid } from '../../utils/workflows.js'

const WAIT_MS = 20_000
/** Host names Chromium resolves to 127.0.0.1 (--host-resolver-rules): a foreign site, and one that rebinds to the node. */
const FOREIGN = 'foreign.test'
const REBIND = 'rebind.test'

const RELAY_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>relay</title></head>
<body>
<p id="status">loading</p>
<ul id="receipts"></ul>
<ul id="problems"></ul>
<script type="module" src="/relay.js"></script>
</body></html>`

/**
 * A page that tries what a foreign site would try against a node on the user's machine (the
 * node's URLs and what to aim at are in its query), and writes what it got into #result.
 * Served from an allowed origin it is the control: the same requests then read and change.
 */
const PROBE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>probe</title></head>
<body><pre id="result"></pre>
<script type="module">
const q = new URLSearchParams(location.search)
const http = q.get('http')
const out = {}
async function attempt (name, fn) {
  try { out[name] = await fn() } catch (err) { out[name] = 'blocked: ' + err.name }
}
const rpc = (id, method, params) => JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) })
// reads: a JSON-RPC POST (preflighted), a plain GET, and a no-cors GET (opaque by design)
await attempt('post', async () => await (await fetch(http + '/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: rpc(1, 'health') })).text())
await attempt('get', async () => await (await fetch(http + '/health')).text())
await attempt('getNoCors', async () => { const r = await fetch(http + '/health', { mode: 'no-cors' }); return { type: r.type, status: r.status, body: await r.text() } })
// changes: "simple" requests, which a browser sends without asking first
await attempt('cancel', async () => (await fetch(http + '/', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: rpc(2, 'workflow_cancel', [q.get('cid')]) })).type)
await attempt('add', async () => (await fetch(http + '/add', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: q.get('payload') })).type)
// the classic cross-site form: a text/plain POST whose body reads as JSON, into a hidden frame
out.form = await new Promise(resolve => {
  const sink = document.createElement('iframe')
  sink.name = 'sink'
  document.body.append(sink)
  sink.onload = () => resolve('submitted')
  const form = document.createElement('form')
  Object.assign(form, { method: 'POST', action: http + '/', enctype: 'text/plain', target: 'sink' })
  const field = document.createElement('input')
  field.name = '{"jsonrpc":"2.0","id":4,"method":"workflow_cancel","params":["' + q.get('formCid') + '"],"pad":"'
  field.value = '"}'
  form.append(field)
  document.body.append(form)
  form.submit()
})
// the WebSocket
out.ws = await new Promise(resolve => {
  const events = []
  const ws = new WebSocket(q.get('ws'))
  ws.onopen = () => { events.push('open'); ws.send(rpc(3, 'health')) }
  ws.onmessage = m => { events.push('message: ' + m.data); ws.close(1000) }
  ws.onerror = () => events.push('error')
  ws.onclose = e => { events.push('close: ' + e.code); resolve(events) }
})
document.getElementById('result').textContent = JSON.stringify(out)
</script>
</body></html>`

/** The CID `POST /add` gives a file of one chunk: a raw block. */
async function rawCid (text: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text)))
}

async function listen (server: Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

describe.skipIf(!HAVE_CHROMIUM)(browserSuite('the official client in headless Chromium, and pages the node must refuse'), () => {
  let t: TestNode
  let rsc: string
  let bundle: ReturnType<typeof tempDir>
  let server: Server
  let pagePort: number
  let browser: Awaited<ReturnType<typeof openBrowser>>

  beforeAll(async () => {
    t = await startTestNode()
    rsc = await addResource(t.httpUrl, await buildTestComponent())
    // the client and the page's code, bundled for the browser
    bundle = tempDir('ipvm-relay-')
    await build({
      entryPoints: [fileURLToPath(new URL('./relay-app.ts', import.meta.url))],
      outfile: join(bundle.dir, 'relay.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'error'
    })
    const relayJs = readFileSync(join(bundle.dir, 'relay.js'))
    // answers whatever Host it is reached by: the page's origin is what the URL says
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://page').pathname
      const page = path === '/' ? { type: 'text/html', body: RELAY_HTML } : path === '/probe' ? { type: 'text/html', body: PROBE_HTML } : path === '/relay.js' ? { type: 'text/javascript', body: relayJs } : undefined
      if (page === undefined) res.writeHead(404).end()
      else res.writeHead(200, { 'content-type': page.type, 'cache-control': 'no-store' }).end(page.body)
    })
    pagePort = await listen(server)
    browser = await openBrowser({ timeoutMs: WAIT_MS, args: ['--no-proxy-server', `--host-resolver-rules=MAP ${FOREIGN} 127.0.0.1, MAP ${REBIND} 127.0.0.1`] })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise(resolve => server?.close(resolve) ?? resolve(undefined))
    bundle?.remove()
    await t?.close()
  })

  async function newPage (): Promise<{ page: Page, console: string[] }> {
    const page = await browser.context.newPage()
    page.setDefaultTimeout(WAIT_MS)
    return { page, console: watchConsole(page) }
  }

  it('a page on http://localhost:<port> runs a workflow with the client and shows every receipt (the relay-app flow)', async () => {
    const { page, console } = await newPage()
    const query = new URLSearchParams({ rpc: t.url, rsc, name: 'relay', start: '100' })
    await page.goto(`http://localhost:${pagePort}/?${query.toString()}`)
    const items = page.locator('#receipts li')
    // five receipts: the sixth task awaits the failed one and is skipped
    await expect.poll(async () => await items.count(), { timeout: WAIT_MS }).toBe(5)
    const shown = await items.evaluateAll(lis => lis.map(li => {
      const d = (li as HTMLElement).dataset
      return { receiptCid: d.receiptCid, ran: d.ran, workflow: d.workflow, replayed: d.replayed, outcome: d.outcome, text: li.textContent }
    }))
    const cid = shown[0].workflow!
    await waitForStatus(t.client, cid, ['failed'])
    // a round trip through the page's client: every notification sent before it has been handled
    expect(await page.evaluate(async () => (await (window as unknown as { homestar: { health: () => Promise<{ result?: unknown }> } }).homestar.health()).result)).toEqual({ healthy: true })
    expect(await items.count()).toBe(5)

    expect(shown.filter(s => s.outcome === 'ok').map(s => JSON.parse(s.text)).sort()).toEqual([101, 102, 'relay\nworld', 'relay\nworld!'].sort())
    const failed = shown.filter(s => s.outcome === 'error')
    expect(failed).toHaveLength(1)
    expect(JSON.parse(failed[0].text)).toMatchObject({ code: 'RUNTIME_BAD_ARGUMENT' })
    expect(shown.every(s => s.workflow === cid && s.replayed === 'false')).toBe(true)
    // the receipts the page shows are the ones the node stored
    const stored = await t.client.request<Array<{ receipt_cid: { '/': string }, receipt: { ran: { '/': string } } }>>('workflow_receipts', [cid])
    expect(stored.map(r => `${r.receipt_cid['/']} ${r.receipt.ran['/']}`).sort()).toEqual(shown.map(s => `${s.receiptCid!} ${s.ran!}`).sort())
    expect(await page.locator('#status').textContent()).toBe('running')
    expect(await page.locator('#problems li').allTextContents()).toEqual([])
    expect(console.filter(l => l.startsWith('error') || l.startsWith('exception'))).toEqual([])
    await page.close()
  })

  it('the page\'s client runs Homestar\'s fixture workflows, gets every receipt with the node\'s CIDs, and streams network events', async () => {
    const { page, console } = await newPage()
    const query = new URLSearchParams({ rpc: t.url, rsc, name: 'fixtures-page', start: '300' })
    await page.goto(`http://localhost:${pagePort}/?${query.toString()}`)
    await expect.poll(async () => await page.locator('#status').textContent(), { timeout: WAIT_MS }).toBe('running')
    type Shown = { out: unknown, receiptCid: string, replayed: boolean, workflow: string, name: string }
    // as Homestar's own tests do: part one, then the whole, whose first task is then a replay
    const fixtures = { partOne: JSON.parse(addOnePartOneFixture(rsc)) as unknown, whole: JSON.parse(addOneFixture(rsc)) as unknown, waitMs: WAIT_MS }
    const runs = await page.evaluate(async ({ partOne, whole, waitMs }) => {
      const hs = (window as unknown as { homestar: { runWorkflow: (w: unknown, cb: (n: any) => void) => Promise<{ error?: { message: string } }> } }).homestar
      const run = async (workflow: unknown, count: number): Promise<Shown[]> => await new Promise((resolve, reject) => {
        const got: Shown[] = []
        setTimeout(() => reject(new Error(`${got.length} of ${count} receipts`)), waitMs)
        void hs.runWorkflow(workflow, n => {
          got.push({ out: n.receipt.out, receiptCid: n.receipt_cid.toString(), replayed: n.metadata.replayed, workflow: n.metadata.workflow.toString(), name: n.metadata.name })
          if (got.length === count) resolve(got)
        }).then(answer => { if (answer.error !== undefined) reject(new Error(answer.error.message)) })
      })
      return { first: await run({ name: 'part-one-page', workflow: partOne }, 1), second: await run({ name: 'add-one-page', workflow: whole }, 2) }
    }, fixtures)
    const cidWhole = workflowCid(addOneFixture(rsc))
    expect(runs.first).toMatchObject([{ out: ['ok', 2], name: 'part-one-page', workflow: workflowCid(addOnePartOneFixture(rsc)) }])
    expect(runs.second).toMatchObject([
      { out: ['ok', 2], name: 'add-one-page', replayed: true, workflow: cidWhole, receiptCid: runs.first[0].receiptCid },
      { out: ['ok', 3], name: 'add-one-page', replayed: false, workflow: cidWhole }
    ])
    const stored = await t.client.request<Array<{ receipt_cid: { '/': string } }>>('workflow_receipts', [cidWhole])
    expect(stored.map(r => r.receipt_cid['/'])).toEqual(runs.second.map(r => r.receiptCid))

    // network events, in the page: a second node connecting shows as connection_established
    const subscribed = await page.evaluate(async () => {
      const w = window as unknown as { homestar: { networkEvents: (cb: (e: unknown) => void) => Promise<{ error?: unknown }> }, events: unknown[] }
      w.events = []
      return (await w.homestar.networkEvents(e => w.events.push(e))).error === undefined
    })
    expect(subscribed).toBe(true)
    const other = await startTestNode({ config: { network: { peers: [t.node.multiaddrs[0]] } } })
    try {
      const seen = async (): Promise<unknown[]> => await page.evaluate(() => (window as unknown as { events: unknown[] }).events)
      await expect.poll(async () => (await seen()).some(e => (e as { connection_established?: { peer_id?: string } }).connection_established?.peer_id === other.node.peerId), { timeout: WAIT_MS }).toBe(true)
    } finally {
      await other.close()
    }
    expect(await page.locator('#problems li').allTextContents()).toEqual([])
    expect(console.filter(l => l.startsWith('error') || l.startsWith('exception'))).toEqual([])
    await page.close()
  })

  it(`a page of another origin (http://${FOREIGN}) can neither read, nor cancel a run or upload, nor open the WebSocket; the same page on localhost can`, async () => {
    const runs: Array<{ cid: string, stream: SubscriptionStream<RunNotification> }> = []
    for (const value of [1, 2, 3]) {
      const workflow = { tasks: [sleepTask(600_000, value)] }
      runs.push({ cid: workflowCid(workflow), stream: await t.client.runWorkflow(workflow) })
      await waitForStatus(t.client, workflowCid(workflow), ['sleeping'])
    }
    // the foreign page aims at the first run; the local one cancels the second with fetch, the third with the form
    const [target, control, formControl] = runs
    const foreignPayload = `from a foreign page ${randomUUID()}`
    const localPayload = `from a local page ${randomUUID()}`
    const probe = async (origin: string, cid: string, formCid: string, payload: string): Promise<{ result: Record<string, any>, console: string[] }> => {
      const { page, console } = await newPage()
      const query = new URLSearchParams({ http: t.httpUrl, ws: t.url, cid, formCid, payload })
      await page.goto(`${origin}/probe?${query.toString()}`)
      await page.waitForFunction(() => document.getElementById('result')?.textContent !== '')
      const result = JSON.parse((await page.locator('#result').textContent())!)
      await page.close()
      return { result, console }
    }

    const foreign = await probe(`http://${FOREIGN}:${pagePort}`, target.cid, target.cid, foreignPayload)
    expect(foreign.result).toEqual({
      post: 'blocked: TypeError',
      get: 'blocked: TypeError',
      getNoCors: { type: 'opaque', status: 0, body: '' },
      cancel: 'opaque',
      add: 'opaque',
      form: 'submitted',
      ws: ['error', 'close: 1006']
    })
    // Chromium says why: the preflight got no CORS answer, the simple requests and the upgrade got 403
    expect(foreign.console.filter(l => l.includes(`from origin 'http://${FOREIGN}:${pagePort}' has been blocked by CORS policy`))).toHaveLength(2)
    expect(foreign.console.some(l => l.includes('blocked by CORS policy: Response to preflight request doesn\'t pass access control check'))).toBe(true)
    expect(foreign.console.filter(l => l.includes('the server responded with a status of 403 (Forbidden)')).length).toBeGreaterThanOrEqual(2)
    expect(foreign.console.some(l => l.includes(`WebSocket connection to '${t.url}/' failed: Error during WebSocket handshake: Unexpected response code: 403`))).toBe(true)

    const local = await probe(`http://localhost:${pagePort}`, control.cid, formControl.cid, localPayload)
    expect(local.result).toMatchObject({
      post: JSON.stringify({ jsonrpc: '2.0', id: 1, result: { healthy: true } }),
      get: JSON.stringify({ healthy: true }),
      cancel: 'opaque',
      add: 'opaque',
      form: 'submitted',
      ws: ['open', `message: ${JSON.stringify({ jsonrpc: '2.0', id: 3, result: { healthy: true } })}`, 'close: 1000']
    })

    // the local page's cancels took effect; the foreign page's did not
    await waitForStatus(t.client, control.cid, ['cancelled'])
    await waitForStatus(t.client, formControl.cid, ['cancelled'])
    expect((await runStatus(t.client, target.cid)).status).toBe('sleeping')
    // and only the local page's upload is in the store: a task reading each file as its argument
    const read = async (payload: string): Promise<unknown> => {
      const r = await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'reverse_bytes', [{ '/': (await rawCid(payload)).toString() }])] }), WAIT_MS)
      return r.receipts[0].receipt.out
    }
    const reversed = Buffer.from(localPayload).reverse().toString('base64').replace(/=+$/, '')
    expect(await read(localPayload)).toEqual(['ok', { '/': { bytes: reversed } }])
    expect(await read(foreignPayload)).toEqual(['error', expect.objectContaining({ code: 'RESOURCE_UNAVAILABLE' })])

    await t.client.request('workflow_cancel', [target.cid])
    for (const r of runs) await collectRun(r.stream, WAIT_MS)
  })

  it(`a page that reaches the node through a name of its own (DNS rebinding, http://${REBIND}:<rpc port>) is refused, WebSocket included`, async () => {
    const { page, console } = await newPage()
    const answer = await page.goto(`http://${REBIND}:${t.node.rpcPort}/`)
    expect(answer?.status()).toBe(403)
    expect(JSON.parse(await answer!.text())).toMatchObject({ error: { data: { code: 'RPC_HOST_NOT_ALLOWED', setting: 'rpc.allowed_hosts' } } })
    // the page is now "same origin" with what it names the node: it still reads only refusals
    const tries = await page.evaluate(async () => {
      const post = await fetch('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'workflow_list' }) })
      const get = await fetch('/health')
      const ws = await new Promise<string[]>(resolve => {
        const events: string[] = []
        const socket = new WebSocket(`ws://${location.host}/`)
        socket.onopen = () => events.push('open')
        socket.onerror = () => events.push('error')
        socket.onclose = e => { events.push(`close: ${e.code}`); resolve(events) }
      })
      return { post: { status: post.status, body: await post.json() }, get: get.status, ws }
    })
    expect(tries.post).toMatchObject({ status: 403, body: { error: { data: { code: 'RPC_HOST_NOT_ALLOWED' } } } })
    expect(tries.get).toBe(403)
    expect(tries.ws).toEqual(['error', 'close: 1006'])
    expect(console.some(l => /Unexpected response code: 403/.test(l))).toBe(true)
    await page.close()
  })
})
