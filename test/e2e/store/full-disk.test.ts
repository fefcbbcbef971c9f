import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, isReceiptNotification, isStatusNotification, RpcClientError, type RunNotification } from '../../../src/client/index.js'
import { randomNonce } from '../../../src/ipld/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addResource, task, workflowCid } from '../../utils/workflows.js'
import { awaitOkOf, runStatus, sleepTask, waitForStatus } from '../../utils/control.js'
import { waitUntil } from '../../utils/wait.js'

/** Mounts a tmpfs of `size` on `dir`; the reason it cannot, or undefined. */
function mountTmpfs (dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim() || 'mount failed'
  }
}

function unmount (dir: string): void {
  try { execFileSync('umount', [dir], { stdio: 'pipe' }) } catch { /* not mounted */ }
}

/** Files under `dir` this process holds open (Linux /proc). */
function openFilesUnder (dir: string): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.startsWith(`${dir}/`)) out.push(target)
    } catch { /* closed meanwhile */ }
  }
  return out
}

/**
 * Unmounts `dir` once nothing holds a file on it: busy (EBUSY) for a moment while a stopped
 * node's last file operations finish on a loaded machine; past that, the files this process
 * still holds there are what the node leaked.
 */
async function unmountWhenFree (dir: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' })
      return
    } catch (err) {
      const reason = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message)
      if (!/busy/i.test(reason)) return // not mounted
      if (Date.now() > deadline) throw new Error(`cannot unmount ${dir} (${reason.trim()}); files this process holds there: ${openFilesUnder(dir).join(', ') || 'none'}`, { cause: err })
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** Whether this machine lets the tests mount a tmpfs (root, or CAP_SYS_ADMIN): found out once, with a throw-away mount. */
const cannotMount = ((): string | undefined => {
  const probe = mkdtempSync(join(tmpdir(), 'ipvm-tmpfs-probe-'))
  const reason = mountTmpfs(probe, '1m')
  if (reason === undefined) unmount(probe)
  rmSync(probe, { recursive: true, force: true })
  return reason
})()
if (cannotMount !== undefined) console.warn(`test/e2e/store/full-disk.test.ts is skipped: cannot mount a tmpfs here (${cannotMount})`)

/**
 * Fills the file system of `dir` to the last byte, but for `spareBytes`: room for a few more
 * writes. Returns the filler's path (deleting it gives the space back).
 */
function fill (dir: string, spareBytes: number): string {
  const spare = join(dir, 'spare')
  writeFileSync(spare, Buffer.alloc(spareBytes))
  const path = join(dir, 'filler')
  const fd = openSync(path, 'w')
  try {
    for (const size of [1024 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x5a)
      for (;;) {
        try {
          writeSync(fd, chunk)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw err
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  rmSync(spare)
  return path
}

async function rpcError (p: Promise<unknown>): Promise<RpcClientError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(RpcClientError)
  return err as RpcClientError
}

describe.skipIf(cannotMount !== undefined)('a node whose disk fills up (a real 64 MiB tmpfs)', () => {
  let mnt: string
  let t: TestNode | undefined

  beforeAll(() => {
    mnt = mkdtempSync(join(tmpdir(), 'ipvm-full-disk-'))
    const reason = mountTmpfs(mnt, '64m')
    if (reason !== undefined) throw new Error(`cannot mount a tmpfs: ${reason}`)
    mkdirSync(join(mnt, 'data'))
  })
  afterAll(async () => {
    await t?.stop()
    await unmountWhenFree(mnt)
    rmSync(mnt, { recursive: true, force: true })
  })

  it('turns unhealthy, fails runs visibly, refuses what it cannot store, and works again once space returns, without a restart; nothing acknowledged is lost', async () => {
    const dataDir = join(mnt, 'data')
    const config = { network: { enable: false }, workflow: { retries: 0 } }
    t = await startTestNode({ dataDir, config })
    const rsc = await addResource(t.httpUrl, await buildTestComponent())
    // the Wasm is prepared (and its cache written) before the disk is full
    expect((await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'add_one', [0])] }), 30_000)).status.status).toBe('completed')
    // a run that sleeps through the full disk, to be cancelled
    const napping = { tasks: [sleepTask(600_000, 'nap')] }
    const napCid = workflowCid(napping)
    const napStream = await t.client.runWorkflow(napping)
    await waitForStatus(t.client, napCid, ['sleeping'])

    // 40 tasks that wait for a short sleep, then each store a receipt of about 4 KiB
    const nap = sleepTask(1500, 'x'.repeat(4000))
    const wide = { tasks: [nap, ...Array.from({ length: 40 }, () => task(rsc, 'append_string', [awaitOkOf(nap)], { time: 100000 }, randomNonce()))] }
    const wideCid = workflowCid(wide)
    const stream = await t.client.runWorkflow(wide, { name: 'wide' })
    await waitForStatus(t.client, wideCid, ['sleeping'])
    // while it sleeps, the disk fills up but for room for a few of those receipts
    const filler = fill(mnt, 32 * 1024)
    const acknowledged: string[] = []
    let final: RunNotification | undefined
    while (final === undefined) {
      const n = await stream.nextWithin(30_000)
      if (isReceiptNotification(n)) acknowledged.push(n.receipt_cid['/'])
      if (isStatusNotification(n) && n.workflow_status.final) final = n
    }
    // the run ended, visibly: failed, with the store's code, after some of its receipts were stored
    expect(isStatusNotification(final) && final.workflow_status).toMatchObject({ status: 'failed', final: true, error: { code: 'STORE_NO_SPACE' } })
    expect(acknowledged.length).toBeGreaterThan(1)
    expect(acknowledged.length).toBeLessThan(41)
    // what cannot be stored is refused: a new run
    expect((await rpcError(t.client.runWorkflow({ tasks: [task(rsc, 'add_one', [99])] }))).nodeCode).toBe('STORE_NO_SPACE')

    // health says so: the RPC method answers an error, GET /health 503 with the reason
    const health = await rpcError(t.client.request('health'))
    expect(health.nodeCode).toBe('STORE_NO_SPACE')
    const res = await fetch(`${t.httpUrl}/health`)
    expect(res.status).toBe(503)
    expect(await res.text()).toMatch(/"healthy":false.*No space left on device/)
    // a file that cannot be stored is the node's condition, not the client's mistake: 507
    const upload = await fetch(`${t.httpUrl}/add`, { method: 'POST', body: new Uint8Array(256 * 1024).fill(7) })
    expect(upload.status).toBe(507)
    expect(await upload.text()).toMatch(/STORE_NO_SPACE/)
    // a cancel that cannot be stored is refused; the run goes on sleeping
    expect((await rpcError(t.client.request('workflow_cancel', [napCid]))).nodeCode).toBe('STORE_NO_SPACE')
    expect((await runStatus(t.client, napCid)).status).toBe('sleeping')

    // space returns: the node takes writes again by itself (it retries with back-off, up to 30 s apart)
    rmSync(filler)
    await waitUntil(async () => (await fetch(`${t!.httpUrl}/health`)).status === 200, 60_000, 'the node healthy again', 250)
    expect(await t.client.request('health')).toEqual({ healthy: true })
    const cancelled = await t.client.request<{ status: string }>('workflow_cancel', [napCid])
    expect(cancelled.status).toBe('cancelled')
    const napEnd = await collectRun(napStream, 10_000)
    expect(napEnd.status).toMatchObject({ status: 'cancelled', final: true })
    // the run that failed completes when submitted again, replaying what was stored
    const again = await collectRun(await t.client.runWorkflow(wide, { name: 'wide' }), 60_000)
    expect(again.status).toMatchObject({ status: 'completed', tasks: { total: 41, replayed: acknowledged.length, executed: 41 - acknowledged.length } })
    for (const cid of acknowledged) expect(again.receipts.map(r => r.receipt_cid['/'])).toContain(cid)

    // and after a restart: every acknowledged receipt and the cancel are there
    await t.stop()
    t = await startTestNode({ dataDir, config })
    expect(await runStatus(t.client, napCid)).toMatchObject({ status: 'cancelled', error: { code: 'WORKFLOW_CANCELLED' } })
    expect(await runStatus(t.client, wideCid)).toMatchObject({ status: 'completed', progress: { receipts: 41, tasks: 41 } })
    for (const cid of acknowledged) expect((await t.client.request<{ receipt_cid: { '/': string } }>('receipt_get', [cid])).receipt_cid['/']).toBe(cid)
  }, 120_000)
})
