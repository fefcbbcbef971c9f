import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { readPortsOf } from '../../utils/ports.js'
import { waitUntil } from '../../utils/wait.js'

/** The `ipvm` command as npm installs it: a POSIX shell line that starts Node.js on the same file. */
const BIN = fileURLToPath(new URL('../../../bin/ipvm', import.meta.url))
const SETTINGS = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_']

describe('bin/ipvm, the launcher', () => {
  const children: ChildProcess[] = []
  const dirs: string[] = []
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL')
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  /** `bin/ipvm start` as a program; once it has written its ports.json, its command line and environment as the kernel has them. */
  async function startBin (env: Record<string, string>): Promise<{ pid: number, argv: string[], environ: Map<string, string> }> {
    const dir = mkdtempSync(join(tmpdir(), 'ipvm-launcher-'))
    dirs.push(dir)
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTINGS.includes(k)))
    const child = spawn(BIN, ['start', '--data', dir, '--rpc-port', '0', '--metrics-port', '0', '--log-level', 'warn'],
      { env: { ...base, IPVM_NETWORK__ENABLE: 'false', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(child)
    let stderr = ''
    child.stderr?.on('data', d => { stderr += String(d) })
    const portsFile = join(dir, 'ports.json')
    await waitUntil(() => {
      if (child.exitCode !== null) throw new Error(`ipvm start exited: ${stderr}`)
      return readPortsOf(portsFile, child.pid) !== undefined
    }, 60_000, 'the node started by bin/ipvm writing its ports.json')
    const pid = child.pid!
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(a => a !== '')
    const environ = new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(e => e.includes('=')).map(e => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    return { pid, argv, environ }
  }

  it('replaces itself with Node.js started with the memory settings (no process left in between)', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('reads the node\'s command line and environment from /proc (Linux)')
    const { argv, environ } = await startBin({})
    // the process that wrote ports.json is the one spawned: the shell exec'd Node.js in its place
    expect(argv[0]).toMatch(/node$/)
    expect(argv).toContain('--max-semi-space-size=4')
    expect(argv.indexOf('--max-semi-space-size=4')).toBeLessThan(argv.indexOf('start'))
    expect(environ.get('MALLOC_ARENA_MAX')).toBe('2')
    expect(environ.get('MALLOC_TRIM_THRESHOLD_')).toBe('131072')
    expect(environ.get('MALLOC_MMAP_THRESHOLD_')).toBe('131072')
  }, 90_000)

  it('leaves settings given in the environment as they are', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('reads the node\'s command line and environment from /proc (Linux)')
    const { argv, environ } = await startBin({ NODE_OPTIONS: '--max-semi-space-size=8', MALLOC_ARENA_MAX: '4', MALLOC_TRIM_THRESHOLD_: '65536', MALLOC_MMAP_THRESHOLD_: '262144' })
    expect(argv.some(a => a.includes('semi-space'))).toBe(false)
    expect(environ.get('NODE_OPTIONS')).toBe('--max-semi-space-size=8')
    expect(environ.get('MALLOC_ARENA_MAX')).toBe('4')
    expect(environ.get('MALLOC_TRIM_THRESHOLD_')).toBe('65536')
    expect(environ.get('MALLOC_MMAP_THRESHOLD_')).toBe('262144')
  }, 90_000)

  it('gives the young generation its cap only to the commands that run a node (start, run), not to client commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvm-launcher-'))
    dirs.push(dir)
    // a module preloaded into the Node.js the launcher starts, which notes the options it got
    const preload = join(dir, 'note-exec-argv.cjs')
    writeFileSync(preload, `require('node:fs').appendFileSync(process.env.NOTE_FILE, JSON.stringify(process.execArgv) + '\\n')\n`)
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTINGS.includes(k)))
    const execArgvOf = async (args: string[]): Promise<string[]> => {
      const note = join(dir, `note-${args.join('-')}.txt`)
      const child = spawn(BIN, args, { env: { ...base, NODE_OPTIONS: `--require ${preload}`, NOTE_FILE: note }, stdio: 'ignore' })
      children.push(child)
      await new Promise(resolve => child.once('exit', resolve))
      return JSON.parse(readFileSync(note, 'utf8').split('\n')[0]) as string[]
    }
    expect(await execArgvOf(['--version'])).not.toContain('--max-semi-space-size=4')
    expect(await execArgvOf(['status', '--help'])).not.toContain('--max-semi-space-size=4')
    expect(await execArgvOf(['run', '--help'])).toContain('--max-semi-space-size=4')
    expect(await execArgvOf(['start', '--help'])).toContain('--max-semi-space-size=4')
  }, 60_000)
})
