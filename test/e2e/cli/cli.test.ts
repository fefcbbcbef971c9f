import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PortsFile } from '../../../src/node/index.js'
import { tempDir } from '../../utils/node.js'
import { runCli, CLI_ENTRY } from '../../utils/cli.js'
import { waitUntil } from '../../utils/wait.js'

const children: ChildProcess[] = []
const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  for (const c of cleanups.splice(0)) c()
})

/**
 * The ports.json in a test's own fresh folder, whichever process wrote it (a test may check
 * its pid), or undefined while there is none (it is written whole: no partial read).
 */
function readPorts (file: string): PortsFile | undefined {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as PortsFile : undefined
}

describe('ipvm command', { timeout: 180_000 }, () => {
  it('--version and --help', async () => {
    const [version, help, startHelp] = await Promise.all([runCli(['--version']), runCli(['--help']), runCli(['start', '--help'])])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version)
    expect(help.code).toBe(0)
    for (const cmd of ['start', 'stop', 'init', 'health', 'node', 'add', 'run', 'status', 'pause', 'resume', 'cancel']) expect(help.stdout).toContain(cmd)
    for (const flag of ['--config', '--data', '--rpc-port', '--metrics-port', '--listen', '--peer', '--kubo-api']) expect(startHelp.stdout).toContain(flag)
  })

  it('start serves; health, node and stop work against it; stop really stops it', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const env = { ...process.env, IPVM_NETWORK__MDNS: 'false', IPVM_NETWORK__LISTEN: '/ip4/127.0.0.1/tcp/0' }
    const child = spawn(process.execPath, [CLI_ENTRY, 'start', '--data', t.dir, '--rpc-port', '0', '--metrics-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let logs = ''
    child.stderr.on('data', d => { logs += String(d) })
    const portsFile = join(t.dir, 'ports.json')
    // written once JSON-RPC answers, again without `starting` once libp2p listens too
    const ports = await waitUntil(() => { const p = readPorts(portsFile); return p?.starting === undefined && p }, 60_000, 'ports.json of a node all up')
    expect(ports.pid).toBe(child.pid)
    expect(ports.rpc.port).toBeGreaterThan(0)
    expect(ports.listeners.length).toBeGreaterThan(0)

    const health = await runCli(['health', '--data', t.dir])
    expect(health).toMatchObject({ code: 0 })
    expect(health.stdout.trim()).toBe('healthy')
    const node = await runCli(['node', '--port', String(ports.rpc.port), '--json'])
    expect(node.code).toBe(0)
    expect(JSON.parse(node.stdout).static.peer_id).toBe(ports.peer_id)
    const human = await runCli(['node', '--data', t.dir])
    expect(human.stdout).toContain(ports.peer_id)

    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    const stop = await runCli(['stop', '--data', t.dir])
    expect(stop.code).toBe(0)
    expect(await exited).toBe(0)
    expect(existsSync(portsFile)).toBe(false)
    // structured logs: one JSON object a line
    const lines = logs.trim().split('\n').filter(Boolean)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
    expect(lines.some(l => JSON.parse(l).msg === 'node started')).toBe(true)
  }, 120_000)

  it('SIGTERM stops a node gracefully within 5 s, once it is all up and while libp2p is still starting', async () => {
    for (const when of ['up', 'starting'] as const) {
      const t = tempDir()
      cleanups.push(t.remove)
      const env = { ...process.env, IPVM_NETWORK__MDNS: 'false', IPVM_NETWORK__LISTEN: '/ip4/127.0.0.1/tcp/0', IPVM_NODE__LOG_LEVEL: 'silent' }
      const child = spawn(process.execPath, [CLI_ENTRY, 'start', '--data', t.dir, '--rpc-port', '0', '--metrics-port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      children.push(child)
      let stderr = ''
      child.stderr?.on('data', d => { stderr += String(d) })
      const portsFile = join(t.dir, 'ports.json')
      // the first ports.json comes when JSON-RPC answers, ~100 ms (compiling and starting libp2p) before the second
      const ports = await waitUntil(() => { const p = readPorts(portsFile); return (when === 'up' ? p?.starting === undefined : true) && p }, 60_000, 'ports.json', 2)
      const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
      child.kill('SIGTERM')
      expect(ports.starting, when).toEqual(when === 'up' ? undefined : ['network'])
      // 0: stopped gracefully; past node.shutdown_timeout_ms (5 s) it would exit 1
      expect(await exited, when).toBe(0)
      expect(existsSync(portsFile), when).toBe(false)
      // logs are silent: nothing reported, the start that gave way to the stop included
      expect(stderr, when).toBe('')
    }
  })

  it('client commands fail clearly when no node runs', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const [r, s] = await Promise.all([runCli(['health', '--port', '1']), runCli(['stop', '--data', t.dir])])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('cannot reach a node')
    expect(s.code).toBe(1)
    expect(s.stderr).toContain('no node is running')
  })

  it('init writes settings that start accepts, and refuses to overwrite them', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const r = await runCli(['init', '--data', t.dir, '--json'])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.peer_id).toMatch(/^12D3KooW/)
    expect(existsSync(join(t.dir, 'config.toml'))).toBe(true)
    expect(existsSync(join(t.dir, 'node.key'))).toBe(true)
    const again = await runCli(['init', '--data', t.dir])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    // the written file is valid settings
    const { loadConfig } = await import('../../../src/config/index.js')
    expect(loadConfig({ file: join(t.dir, 'config.toml') }).node.data_dir).toBe(t.dir)
  })

  it('a bad setting stops start with a message naming the key', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const r = await runCli(['start', '--data', t.dir], { IPVM_RPC__PROT: '1' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('rpc.prot')
    expect(r.stderr).toContain('CONFIG_UNKNOWN_KEY')
  })
})

describe('ipvm add and ipvm run', { timeout: 300_000 }, () => {
  it('add writes into the data folder when no node runs; run prints receipts and exits 0, or 1 when the workflow fails', async () => {
    const { buildTestComponent } = await import('../../utils/wasm.js')
    const { addOneFixture, chain } = await import('../../utils/workflows.js')
    const { writeFileSync } = await import('node:fs')
    const t = tempDir()
    cleanups.push(t.remove)
    const wasm = join(t.dir, 'test.wasm')
    writeFileSync(wasm, await buildTestComponent())
    const added = await runCli(['add', '--data', t.dir, '--json', wasm])
    expect(added.code).toBe(0)
    const { cid } = JSON.parse(added.stdout)
    expect(cid).toMatch(/^baf/)

    const env = { ...process.env, IPVM_NETWORK__MDNS: 'false', IPVM_NETWORK__LISTEN: '/ip4/127.0.0.1/tcp/0', IPVM_NODE__LOG_LEVEL: 'silent' }
    const child = spawn(process.execPath, [CLI_ENTRY, 'start', '--data', t.dir, '--rpc-port', '0', '--metrics-port', '0'], { env, stdio: 'ignore' })
    children.push(child)
    await waitUntil(() => existsSync(join(t.dir, 'ports.json')), 60_000, 'ports.json')

    // through the running node this time: same CID
    const again = await runCli(['add', '--data', t.dir, '--json', wasm])
    expect(JSON.parse(again.stdout).cid).toBe(cid)

    const wf = join(t.dir, 'add-one.json')
    writeFileSync(wf, addOneFixture(`ipfs://${cid}`))
    const run = await runCli(['run', '--data', t.dir, '--name', 'cli', wf])
    expect(run.code).toBe(0)
    const lines = run.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ok\s+add_one\s+2\s+bafyrmi/)
    expect(lines[1]).toMatch(/^ok\s+add_one\s+3\s+bafyrmi/)
    expect(lines[2]).toMatch(/^completed: 2 tasks, 2 executed, 0 replayed, 0 failed/)

    const json = await runCli(['run', '--data', t.dir, '--json', wf])
    const notes = json.stdout.trim().split('\n').map(l => JSON.parse(l))
    expect(notes.filter(n => 'receipt' in n).every(n => n.metadata.replayed === true)).toBe(true)
    expect(notes.at(-1).workflow_status.status).toBe('completed')

    const bad = join(t.dir, 'trap.json')
    writeFileSync(bad, JSON.stringify({ tasks: [chain(`ipfs://${cid}`, 1, 1).tasks[0]].map(x => ({ ...x, run: { ...x.run, input: { func: 'no_such_function', args: [] } } })) }))
    const failed = await runCli(['run', '--data', t.dir, bad])
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('RUNTIME_FUNCTION_NOT_FOUND')
    child.kill('SIGTERM')
  }, 300_000)
})
