import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun, IpvmClient } from '../../../src/client/index.js'
import { CLI_ENTRY, runCli, type CliResult } from '../../utils/cli.js'
import { startBareNode, startTestNode, tempDir, type TestNode } from '../../utils/node.js'
import { waitUntil } from '../../utils/wait.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addResource, chain } from '../../utils/workflows.js'

/**
 * The mistakes a newcomer makes, each answered with: the documented exit code, exactly one
 * line on stderr naming an error code (with a hint), and no stack trace. Each command runs
 * under runCli's time limit, so an answer that hangs fails the test; no wall-clock assertion.
 */
const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname
// generous: a loaded 2-core machine may take many seconds to start a node
const CLI_LIMIT_MS = 60_000

function oneLineError (r: CliResult, code: string): void {
  const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: .+ \[[A-Z_0-9]+\]/)
  expect(lines[0]).toContain(`[${code}]`)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

async function listening (): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return { server, port: (server.address() as { port: number }).port }
}

const children: ChildProcess[] = []
const cleanups: Array<() => Promise<void> | void> = []
let dir: string

beforeAll(() => {
  const t = tempDir()
  dir = t.dir
  cleanups.push(t.remove)
})
afterAll(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const c of cleanups.splice(0).reverse()) await c()
})

const file = (name: string, text: string): string => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

describe('ipvm: one-line errors', { timeout: 180_000 }, () => {
  it('a workflow file that is not JSON: YAML, truncated, empty', async () => {
    const yaml = file('wf.yaml', 'tasks:\n  - run:\n      op: wasm/run\n')
    const truncated = file('cut.json', readFileSync(join(EXAMPLES, 'chain.json'), 'utf8').slice(0, 120))
    const empty = file('empty.json', '')
    const results = await Promise.all([yaml, truncated, empty].map(async f => await runCli(['run', f, '--data', dir], {}, CLI_LIMIT_MS)))
    for (const r of results) {
      expect(r.code).toBe(2)
      oneLineError(r, 'CLI_NOT_JSON')
    }
    expect(results[0].stderr).toContain('YAML')
    expect(results[1].stderr).toMatch(/line \d+/)
    expect(results[2].stderr).toContain('empty')
    // --json: the same error as one JSON object
    const json = await runCli(['run', empty, '--json'], {}, CLI_LIMIT_MS)
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'CLI_NOT_JSON', message: expect.stringContaining('empty') } })
    // --debug adds the stack
    const debug = await runCli(['run', empty, '--debug'], {}, CLI_LIMIT_MS)
    expect(debug.stderr).toMatch(/\n\s+at /)
  })

  it('a closed port, and a port in use', async () => {
    const { server, port } = await listening()
    await new Promise<void>(resolve => server.close(() => resolve()))
    const closed = await runCli(['status', '--port', String(port)], {}, CLI_LIMIT_MS)
    expect(closed.code).toBe(4)
    oneLineError(closed, 'CLI_NODE_UNREACHABLE')
    expect(closed.stderr).toContain('ipvm start')

    const busy = await listening()
    cleanups.push(() => { busy.server.close() })
    const t = tempDir()
    cleanups.push(t.remove)
    const inUse = await runCli(['start', '--data', t.dir, '--rpc-port', String(busy.port), '--metrics-port', '0'], { IPVM_NETWORK__ENABLE: 'false', IPVM_NODE__LOG_LEVEL: 'silent' }, CLI_LIMIT_MS)
    expect(inUse.code).toBe(1)
    oneLineError(inUse, 'EADDRINUSE')
    expect(inUse.stderr).toContain('--rpc-port')
  })

  it('a node that requires a token: 401 suggests --token', async () => {
    const n = await startBareNode({ rpc: { auth_token: 'secret-token' } })
    cleanups.push(n.close)
    const r = await runCli(['health', '--port', String(n.node.rpcPort)], {}, CLI_LIMIT_MS)
    expect(r.code).toBe(1)
    oneLineError(r, 'CLI_UNAUTHORIZED')
    expect(r.stderr).toContain('--token')
    const ok = await runCli(['health', '--port', String(n.node.rpcPort), '--token', 'secret-token'], {}, CLI_LIMIT_MS)
    expect(ok.code).toBe(0)
  })

  it('a bad nonce names the task and the accepted forms', async () => {
    const authored = file('nonce.json', JSON.stringify({ tasks: [{ name: 'first', wasm: join(EXAMPLES, 'math.wasm'), func: 'add_one', args: [1], nonce: 'NOT-A-NONCE' }] }))
    const homestar = JSON.parse(readFileSync(join(EXAMPLES, 'add-one.json'), 'utf8'))
    homestar.tasks[0].run.nnc = 'abc'
    const raw = file('nonce-homestar.json', JSON.stringify(homestar))
    const [a, h] = await Promise.all([runCli(['run', authored, '--data', dir], {}, CLI_LIMIT_MS), runCli(['workflow', raw], {}, CLI_LIMIT_MS)])
    for (const r of [a, h]) {
      expect(r.code).toBe(2)
      oneLineError(r, 'IPLD_INVALID_NONCE')
      expect(r.stderr).toContain('base32hex')
      expect(r.stderr).toContain('12 or 16 bytes')
    }
    expect(a.stderr).toContain('"first"')
    expect(h.stderr).toContain('task 0')
  })

  it('missing Wasm: a file the authoring form names, and a CID nothing provides (fails at once, names ipvm add)', async () => {
    const authored = file('missing.json', JSON.stringify({ tasks: [{ name: 'lost', wasm: 'nope.wasm', func: 'add_one', args: [1] }] }))
    const a = await runCli(['run', authored, '--data', dir], {}, CLI_LIMIT_MS)
    expect(a.code).toBe(2)
    oneLineError(a, 'CLI_INVALID_WORKFLOW')
    expect(a.stderr).toContain('nope.wasm')

    // Homestar's add-one fixture names a Wasm that is neither beside it nor in the store
    const fixture = file('homestar.json', readFileSync(new URL('../../fixtures/workflows/test-workflow-add-one.json', import.meta.url), 'utf8'))
    const r = await runCli(['run', fixture, '--data', dir], {}, CLI_LIMIT_MS)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^error: .*\[RESOURCE_UNAVAILABLE\]; .*ipvm add FILE/m)
    expect(r.stdout).toMatch(/^failed: 2 tasks, 0 executed, 0 replayed, 1 failed, 1 skipped/m)
    expect(r.stdout).not.toMatch(/retries/)
  })

  it('EPIPE: a reader that goes away (ipvm status | head -1) ends the command quietly', async () => {
    const t: TestNode = await startTestNode()
    cleanups.push(t.close)
    // a few runs, so that the table has lines to write
    await collectRun(await t.client.runWorkflow(chain(await addResource(t.httpUrl, await buildTestComponent()), 3, 1)), 30_000)
    const port = new URL(t.url).port
    const result = await new Promise<{ code: number | null, stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_ENTRY, 'status', '--port', port], { stdio: ['ignore', 'pipe', 'pipe'] })
      // the read end is closed before the command writes: its writes fail with EPIPE
      child.stdout.destroy()
      let stderr = ''
      child.stderr.on('data', d => { stderr += String(d) })
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('did not exit')) }, CLI_LIMIT_MS)
      child.once('exit', code => { clearTimeout(timer); resolve({ code, stderr }) })
    })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('the node killed during ipvm run: exit 4 and one line saying how to follow the run', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const env = { ...process.env, IPVM_NETWORK__ENABLE: 'false', IPVM_NODE__LOG_LEVEL: 'silent' }
    const node = spawn(process.execPath, [CLI_ENTRY, 'start', '--data', t.dir, '--rpc-port', '0', '--metrics-port', '0'], { env, stdio: 'ignore' })
    children.push(node)
    await waitUntil(() => existsSync(join(t.dir, 'ports.json')), 60_000, 'ports.json')
    const port = JSON.parse(readFileSync(join(t.dir, 'ports.json'), 'utf8')).rpc.port as number
    const wf = file('long-sleep.json', JSON.stringify({ tasks: [{ name: 'nap', sleep: { duration_ms: 600_000 } }] }))
    const cid = JSON.parse((await runCli(['workflow', wf, '--json'])).stdout).workflow as string
    const run = runCli(['run', wf, '--data', t.dir], {}, 120_000)
    const client = await IpvmClient.connect(`ws://127.0.0.1:${port}`)
    try {
      await waitUntil(async () => (await client.request<{ status: string }>('workflow_status', [cid]).catch(() => undefined))?.status === 'sleeping', 60_000, 'the run to sleep', 50)
    } finally {
      await client.close()
    }
    node.kill('SIGKILL')
    const r = await run
    expect(r.code, r.stderr + r.stdout).toBe(4)
    oneLineError(r, 'CLI_NODE_LOST')
    expect(r.stderr).toContain(`ipvm status ${cid}`)
  })

  it('a wrong flag is a usage error (exit 2) on one line', async () => {
    const r = await runCli(['status', '--limit', 'many', '--port', '1'], {}, CLI_LIMIT_MS)
    expect(r.code).toBe(2)
    oneLineError(r, 'CLI_USAGE')
    const unknown = await runCli(['run', '--no-such-flag'], {}, CLI_LIMIT_MS)
    expect(unknown.code).toBe(2)
    oneLineError(unknown, 'CLI_USAGE')
  })
})
