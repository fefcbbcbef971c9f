import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { collectRun } from '../../../src/client/index.js'
import { startBareNode, startTestNode, type TestNode } from '../../utils/node.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addResource, awaitOk, chain, task, workflowCid } from '../../utils/workflows.js'
import { runStatus, sleepTask } from '../../utils/control.js'

const CHROMIUM = '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const WAIT_MS = 20_000

/** A fresh headless Chromium with its own profile, closed (and the profile removed) by `close`. */
async function openBrowser (): Promise<{ context: BrowserContext, close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'ipvm-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 800 },
    timeout: WAIT_MS
  })
  return {
    context,
    close: async () => {
      await context.close().catch(() => {})
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** Every console error and uncaught exception of a page. */
function watchErrors (page: Page): string[] {
  const errors: string[] = []
  page.on('console', msg => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`) })
  page.on('pageerror', err => errors.push(`exception: ${err.message}`))
  page.on('requestfailed', req => errors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`))
  return errors
}

async function waitConnected (page: Page, peerId: string): Promise<void> {
  await page.locator('#connection[data-state="open"]').waitFor({ timeout: WAIT_MS })
  await page.waitForFunction(id => document.getElementById('peer-id')?.textContent === id, peerId, { timeout: WAIT_MS })
}

const suite = HAVE_CHROMIUM ? 'dashboard in headless Chromium' : `dashboard in headless Chromium (skipped: ${CHROMIUM} not found; install it with apt-get install chromium)`

describe.skipIf(!HAVE_CHROMIUM)(suite, () => {
  let t: TestNode
  let rsc: string
  let browser: Awaited<ReturnType<typeof openBrowser>>
  let page: Page
  let errors: string[]

  beforeAll(async () => {
    t = await startTestNode()
    rsc = await addResource(t.httpUrl, await buildTestComponent())
    browser = await openBrowser()
    page = await browser.context.newPage()
    page.setDefaultTimeout(WAIT_MS)
    errors = watchErrors(page)
    await page.goto(`${t.httpUrl}/`, { timeout: WAIT_MS })
    await waitConnected(page, t.node.peerId)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('runs a workflow submitted with the keyboard and shows each task\'s receipt as the API gives it', async () => {
    const workflow = chain(rsc, 3, 1)
    const text = JSON.stringify(workflow, null, 2)

    // keyboard only: skip link, name, workflow, submit
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the workflow form')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('run-name')
    await page.keyboard.type('chain of three')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('run-workflow')
    await page.keyboard.insertText(text)
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('run-submit')
    await page.keyboard.press('Enter')

    const rows = page.locator('#detail table.tasks tbody tr')
    await expect.poll(async () => await rows.evaluateAll(trs => trs.map(tr => (tr as HTMLElement).dataset.state)), { timeout: WAIT_MS })
      .toEqual(['completed', 'completed', 'completed'])
    await expect.poll(async () => await page.locator('#detail .badge').first().textContent(), { timeout: WAIT_MS }).toBe('completed')

    const shown = await rows.evaluateAll(trs => trs.map(tr => ({
      ran: (tr as HTMLElement).dataset.ran,
      cells: Array.from(tr.children).map(c => c.textContent?.trim()),
      receiptCid: tr.querySelector('[data-receipt-cid]')?.textContent
    })))
    expect(shown.map(r => r.cells.slice(0, 5))).toEqual([
      ['#1', 'add_one', '—', 'completed', '2'],
      ['#2', 'add_one', '#1', 'completed', '3'],
      ['#3', 'add_one', '#2', 'completed', '4']
    ])
    // where each task ran (metadata.executor): here
    expect(shown.map(r => r.cells[5])).toEqual(['this node', 'this node', 'this node'])
    expect(await page.locator('#detail .facts code.cid').first().textContent()).toBe(workflowCid(workflow))
    // the graph: three tasks, two edges
    expect(await page.locator('#detail svg.dag g.task').count()).toBe(3)
    expect(await page.locator('#detail svg.dag path.edge').count()).toBe(2)
    expect(await page.locator('#runs li').first().textContent()).toContain('chain of three')

    // the same workflow through the API replays with the same receipt CIDs
    const api = await collectRun(await t.client.runWorkflow(text), WAIT_MS)
    expect(api.status.status).toBe('completed')
    const byRan = new Map(api.receipts.map(r => [r.receipt.ran['/'], r.receipt_cid['/']]))
    expect(byRan.size).toBe(3)
    for (const row of shown) {
      expect(row.receiptCid).toMatch(/^bafyr/)
      expect(row.receiptCid).toBe(byRan.get(row.ran!))
    }

    // and submitted again from the page, every task is replayed
    await page.getByLabel('Name (optional)').fill('again')
    await page.getByRole('button', { name: 'Run workflow' }).click()
    await expect.poll(async () => await rows.evaluateAll(trs => trs.map(tr => (tr as HTMLElement).dataset.state)), { timeout: WAIT_MS })
      .toEqual(['replayed', 'replayed', 'replayed'])
    expect(await rows.evaluateAll(trs => trs.map(tr => tr.querySelector('[data-receipt-cid]')?.textContent))).toEqual(shown.map(r => r.receiptCid))
    await expect.poll(async () => await page.locator('#runs li').count(), { timeout: WAIT_MS }).toBe(2)
    await expect.poll(async () => await page.locator('#run-feedback').textContent(), { timeout: WAIT_MS }).toContain('completed')
  }, 90_000)

  it('shows the node\'s figures: tasks executed from the metrics, listen addresses, live events', async () => {
    await expect.poll(async () => await page.locator('[data-metric="tasks-executed"] .value').textContent(), { timeout: WAIT_MS }).toBe('3')
    await expect.poll(async () => await page.locator('[data-metric="tasks-replayed"] .value').textContent(), { timeout: WAIT_MS }).toBe('6')
    await expect.poll(async () => await page.locator('[data-metric="task-rate"] .value').textContent(), { timeout: WAIT_MS }).toMatch(/^\d+(\.\d)?$/)
    const info = await t.client.node()
    expect(info.dynamic.listeners.length).toBeGreaterThan(0)
    expect(await page.locator('#listeners li').allTextContents()).toEqual(info.dynamic.listeners)
    expect(await page.locator('#events-source').textContent()).toBe('(live)')
  }, 60_000)

  it('shows a peer connecting and leaving', async () => {
    const info = await t.client.node()
    expect(info.dynamic.listeners.length).toBeGreaterThan(0)
    const other = await startTestNode({ config: { network: { peers: [`${info.dynamic.listeners[0]}/p2p/${info.static.peer_id}`] } } })
    try {
      await expect.poll(async () => await page.locator('#peers tr code').evaluateAll(els => els.map(e => e.getAttribute('title'))), { timeout: WAIT_MS })
        .toEqual([other.node.peerId])
      expect(await page.locator('#peer-count').textContent()).toBe('1')
      await expect.poll(async () => await page.locator('#events li[data-event="connection_established"]').count(), { timeout: WAIT_MS }).toBeGreaterThan(0)
    } finally {
      await other.close()
    }
    await expect.poll(async () => await page.locator('#peers tr').count(), { timeout: WAIT_MS }).toBe(0)
    expect(await page.locator('#peers-empty').isVisible()).toBe(true)
  }, 60_000)

  it('reports a workflow the node refuses, without a console error', async () => {
    await page.getByLabel('Workflow JSON').fill('{"tasks": [{"run": 1}]}')
    await page.getByLabel('Name (optional)').fill('broken')
    await page.getByRole('button', { name: 'Run workflow' }).click()
    await expect.poll(async () => await page.locator('#run-feedback').textContent(), { timeout: WAIT_MS }).toMatch(/^The node refused the workflow: /)
    await expect.poll(async () => await page.locator('#runs li').first().locator('.badge').textContent(), { timeout: WAIT_MS }).toBe('refused')
    expect(await page.getByLabel('Workflow JSON').getAttribute('aria-invalid')).toBe('true')
  }, 60_000)

  it('shows a failing task\'s error receipt and the task that awaited it as not run', async () => {
    const trap = task(rsc, 'trap', [])
    const after = task(rsc, 'add_one', [awaitOk(trap)])
    await page.getByLabel('Name (optional)').fill('trap')
    await page.getByLabel('Workflow JSON').fill(JSON.stringify({ tasks: [trap, after] }))
    await page.getByRole('button', { name: 'Run workflow' }).click()
    const rows = page.locator('#detail table.tasks tbody tr')
    await expect.poll(async () => await rows.evaluateAll(trs => trs.map(tr => (tr as HTMLElement).dataset.state)), { timeout: WAIT_MS })
      .toEqual(['failed', 'skipped'])
    await expect.poll(async () => await page.locator('#detail .detail-head .badge').textContent(), { timeout: WAIT_MS }).toBe('failed')
    // cells after the row header: function, awaits, state, output, receipt
    expect(await rows.nth(0).locator('td').nth(2).textContent()).toBe('failed')
    expect(await rows.nth(0).locator('td').nth(3).textContent()).toMatch(/^RUNTIME_[A-Z_]+: .*\(\d+ attempts?\)$/)
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe('#1')
    expect(await rows.nth(1).locator('td').nth(2).textContent()).toBe('not run')
    expect(await rows.nth(1).locator('[data-receipt-cid]').count()).toBe(0)
    expect(await page.locator('#detail svg.dag g.task.state-failed').count()).toBe(1)
  }, 60_000)

  it('pauses, resumes and cancels the selected run with its buttons, as the node reports', async () => {
    const workflow = { tasks: [sleepTask(60_000, 'nap')] }
    const cid = workflowCid(workflow)
    await page.getByLabel('Name (optional)').fill('long nap')
    await page.getByLabel('Workflow JSON').fill(JSON.stringify(workflow))
    await page.getByRole('button', { name: 'Run workflow' }).click()
    const badge = page.locator('#detail .detail-head .badge')
    const controls = page.getByRole('group', { name: 'Steer this run' })
    await expect.poll(async () => await badge.textContent(), { timeout: WAIT_MS }).toBe('sleeping')
    await expect.poll(async () => await controls.getByRole('button').allTextContents(), { timeout: WAIT_MS }).toEqual(['Pause', 'Cancel'])

    await controls.getByRole('button', { name: 'Pause' }).click()
    await expect.poll(async () => await badge.textContent(), { timeout: WAIT_MS }).toBe('paused')
    expect((await runStatus(t.client, cid)).status).toBe('paused')
    await expect.poll(async () => await controls.getByRole('button').allTextContents(), { timeout: WAIT_MS }).toEqual(['Resume', 'Cancel'])
    expect(await page.locator('#run-feedback').textContent()).toBe('Run “long nap” paused.')

    await controls.getByRole('button', { name: 'Resume' }).focus()
    await page.keyboard.press('Enter')
    await expect.poll(async () => await badge.textContent(), { timeout: WAIT_MS }).toBe('sleeping')
    expect((await runStatus(t.client, cid)).status).toBe('sleeping')

    await controls.getByRole('button', { name: 'Cancel' }).click()
    await expect.poll(async () => await badge.textContent(), { timeout: WAIT_MS }).toBe('cancelled')
    expect((await runStatus(t.client, cid)).status).toBe('cancelled')
    await expect.poll(async () => await controls.isHidden(), { timeout: WAIT_MS }).toBe(true)
    expect(await page.locator('#run-feedback').textContent()).toMatch(/^Run “long nap” cancel/)
  }, 60_000)

  it('lists the node\'s other runs, with their receipts', async () => {
    expect(await page.locator('#runs-source').textContent()).toBe('Runs submitted here, live, and the node\'s other runs, read every 5 s.')
    const api = await collectRun(await t.client.runWorkflow(JSON.stringify(chain(rsc, 2, 50)), { name: 'from the api' }), WAIT_MS)
    expect(api.status.status).toBe('completed')
    const item = page.locator('#runs li', { hasText: 'from the api' })
    await item.waitFor({ timeout: WAIT_MS })
    await expect.poll(async () => await item.locator('.badge').textContent(), { timeout: WAIT_MS }).toBe('completed')
    expect(await item.locator('.run-meta').textContent()).toMatch(/^2\/2 tasks · .* · from the node$/)
    await item.locator('button').click()
    await expect.poll(async () => await item.locator('button').getAttribute('aria-current'), { timeout: WAIT_MS }).toBe('true')
    const expected = api.receipts.map(r => r.receipt_cid['/']).sort()
    await expect.poll(async () => (await page.locator('#detail [data-receipt-cid]').allTextContents()).sort(), { timeout: WAIT_MS }).toEqual(expected)
    expect(await page.locator('#detail table.tasks tbody tr').evaluateAll(trs => trs.map(tr => tr.querySelector('td:nth-of-type(4)')?.textContent).sort()))
      .toEqual(['51', '52'])
    // the task graph of a run this page did not submit, from the workflow the node stored
    await expect.poll(async () => await page.locator('#detail svg.dag g.task').count(), { timeout: WAIT_MS }).toBe(2)
    expect(await page.locator('#detail svg.dag path.edge').count()).toBe(1)
  }, 60_000)

  it('a page opened on a node with runs asks for its figures and runs at once, and its run cards fit', async () => {
    // a run without a name is listed under its workflow CID, a long word
    const unnamed = chain(rsc, 1, 70)
    await collectRun(await t.client.runWorkflow(JSON.stringify(unnamed)), WAIT_MS)
    const second = await browser.context.newPage()
    try {
      const pageErrors = watchErrors(second)
      // what the page sends, and when the API document comes back
      const events: string[] = []
      second.on('websocket', ws => {
        ws.on('framesent', f => { const m = /"method":"([^"]+)"/.exec(String(f.payload)); if (m !== null) events.push(`sent ${m[1]}`) })
        ws.on('framereceived', f => { if (String(f.payload).includes('"openrpc"')) events.push('received rpc.discover') })
      })
      await second.goto(`${t.httpUrl}/`, { timeout: WAIT_MS })
      // the first list is read as soon as the page connects: the runs are there, not "No runs yet"
      await second.locator('#runs li', { hasText: 'from the api' }).waitFor({ timeout: WAIT_MS })
      // the first runs and figures are asked for without waiting for the (large) API document
      await expect.poll(() => events.includes('received rpc.discover'), { timeout: WAIT_MS }).toBe(true)
      const discovered = events.indexOf('received rpc.discover')
      expect(events.indexOf('sent workflow_list')).toBeGreaterThanOrEqual(0)
      expect(events.indexOf('sent workflow_list')).toBeLessThan(discovered)
      expect(events.indexOf('sent metrics')).toBeLessThan(discovered)
      const tiles = await second.locator('#metrics .value').allTextContents()
      expect(tiles.length).toBeGreaterThan(0)
      await expect.poll(async () => (await second.locator('#metrics .value').allTextContents()).some(v => /\d/.test(v)), { timeout: WAIT_MS }).toBe(true)
      // run cards fit their column: nothing is cut off on the right
      await second.locator('#runs li', { hasText: workflowCid(unnamed).slice(0, 12) }).waitFor({ timeout: WAIT_MS })
      expect(await second.locator('#runs').evaluate(list => list.scrollWidth - list.clientWidth)).toBeLessThanOrEqual(0)
      const overflow = await second.locator('#runs button.run').evaluateAll(bs => bs.map(b => b.scrollWidth - b.clientWidth))
      expect(Math.max(...overflow)).toBeLessThanOrEqual(0)
      const clipped = await second.locator('#runs').evaluate(list => Array.from(list.querySelectorAll('button.run')).some(b => b.getBoundingClientRect().right > list.getBoundingClientRect().right + 0.5))
      expect(clipped).toBe(false)
      expect(pageErrors).toEqual([])
    } finally {
      await second.close()
    }
  }, 60_000)

  it('had no console errors, and leaves a screenshot', async () => {
    // show the completed chain again for the picture
    await page.locator('#runs li', { hasText: 'chain of three' }).locator('button').click()
    await page.locator('#detail tr[data-state="completed"]').first().waitFor({ timeout: WAIT_MS })
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true, timeout: WAIT_MS })
    expect(errors).toEqual([])
  }, 60_000)
})

describe.skipIf(!HAVE_CHROMIUM)(`${suite}, on a node that needs a token`, () => {
  const token = 'dashboard-token'
  let t: Awaited<ReturnType<typeof startBareNode>>
  let browser: Awaited<ReturnType<typeof openBrowser>>

  beforeAll(async () => {
    t = await startBareNode({ rpc: { auth_token: token }, network: { enable: false } })
    browser = await openBrowser()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('connects with the token from its own URL', async () => {
    const page = await browser.context.newPage()
    const errors = watchErrors(page)
    await page.goto(`${t.httpUrl}/?token=${token}`, { timeout: WAIT_MS })
    await waitConnected(page, t.node.peerId)
    await expect.poll(async () => await page.locator('[data-metric="rpc"] .value').textContent(), { timeout: WAIT_MS }).toMatch(/^[1-9]/)
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)')
    expect(errors).toEqual([])
  }, 60_000)
})
