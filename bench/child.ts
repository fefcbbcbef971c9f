/**
 * The node measured as users run it: `ipvm start` (bin/ipvm, which starts Node.js on dist/ with
 * the launcher's memory settings) in a process of its own on
 * 127.0.0.1 (port 0, a temp data folder, loopback network, mDNS off, no request rate limit),
 * and a bare `ws` echo server in a process of its own too, so both sides of the baseline cross
 * the same process boundary. Memory and CPU come from /proc/<pid>: they count every thread of
 * the node (main thread, Wasm workers, libuv) and nothing of the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import type { PortsFile } from '../src/node/index.js'
import { readPortsOf } from '../test/utils/ports.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
/** The `ipvm` command (a POSIX shell line that starts Node.js on itself; see bin/ipvm). */
export const IPVM_BIN = join(ROOT, 'bin', 'ipvm')
const CLOCK_TICKS_PER_SECOND = 100

/** Settings of every node the bench spawns (the bench measures capacity: no request rate limit). */
const CONFIG = `[rpc]
port = 0
max_requests_per_second = 0
[metrics]
port = 0
[network]
listen = ["/ip4/127.0.0.1/tcp/0"]
mdns = false
`

/** A process the bench started and reads from /proc. */
export interface ProcessProbe {
  pid: number
  /** Resident set size now, bytes. */
  rssBytes: () => number
  /** Highest resident set size since start, or since `resetPeakRss`, bytes. */
  peakRssBytes: () => number
  /** Starts a new peak (writes 5 to /proc/<pid>/clear_refs); false where the kernel does not allow it. */
  resetPeakRss: () => boolean
  /** utime + stime of every thread, ms (10 ms resolution). */
  cpuMs: () => number
}

export function probe (pid: number): ProcessProbe {
  const status = (field: string): number => {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith(`${field}:`))
    return line === undefined ? Number.NaN : Number(line.replace(/\D+/g, '')) * 1024
  }
  return {
    pid,
    rssBytes: () => status('VmRSS'),
    peakRssBytes: () => status('VmHWM'),
    resetPeakRss: () => {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5')
        return true
      } catch {
        return false
      }
    },
    cpuMs: () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SECOND
    }
  }
}

/** Ends a child: SIGTERM, SIGKILL after `graceMs`. */
export async function stopChild (child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export interface NodeProcess extends ProcessProbe {
  wsUrl: string
  httpUrl: string
  metricsUrl?: string
  /** Spawn → first `{"healthy":true}` over a new WebSocket, ms. */
  spawnToHealthyMs: number
  /** Spawn → every part up (ports.json rewritten without `starting`: libp2p listening), ms. */
  spawnToUpMs: number
  stop: () => Promise<void>
}

/**
 * The ports.json of the node `child` once every part of it is up: the node writes the file
 * when JSON-RPC answers, with `starting` while libp2p starts, and again without it once
 * libp2p listens. Fails when `child` exits first (`stderr`: what it printed), or after
 * `timeoutMs` (60 s). Read every `intervalMs` (25).
 */
export async function portsWhenUp (child: ChildProcess, portsFile: string, what: string, opts: { stderr?: () => string, intervalMs?: number, timeoutMs?: number } = {}): Promise<PortsFile> {
  const timeoutMs = opts.timeoutMs ?? 60_000
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited while starting: ${(opts.stderr?.() ?? '').slice(-2000)}`)
    const ports = readPortsOf(portsFile, child.pid)
    if (ports !== undefined && ports.starting === undefined) return ports
    if (Date.now() > deadline) throw new Error(`${what} was not all up within ${Math.round(timeoutMs / 1000)} s`)
    await new Promise(resolve => setTimeout(resolve, opts.intervalMs ?? 25))
  }
}

/** One `health` request over a new WebSocket; resolves whether it said healthy (false on any error). */
export async function healthOnce (wsUrl: string, timeoutMs = 5000): Promise<boolean> {
  return await new Promise<boolean>(resolve => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false })
    const done = (ok: boolean): void => { clearTimeout(timer); ws.terminate(); resolve(ok) }
    const timer = setTimeout(() => done(false), timeoutMs)
    ws.once('error', () => done(false))
    ws.once('open', () => ws.send('{"jsonrpc":"2.0","id":1,"method":"health"}'))
    ws.once('message', data => {
      try {
        done((JSON.parse((data as Buffer).toString('utf8')) as { result?: { healthy?: unknown } }).result?.healthy === true)
      } catch {
        done(false)
      }
    })
  })
}

/** Nodes started and not yet ended: a bench that ends on an error it did not catch does not leave them running. */
const running = new Set<ChildProcess>()
let watching = false

function stopRunning (): void {
  for (const child of running) child.kill('SIGTERM')
}

/**
 * `bin/ipvm start --data <dir> --log-level warn` as a child process (stderr piped). Node.js
 * options (a profiler, say) go through NODE_OPTIONS, so the launcher still runs.
 */
export function spawnIpvmStart (dir: string, execArgv: string[] = []): ChildProcess {
  const env = execArgv.length > 0 ? { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', ...execArgv].join(' ').trim() } : process.env
  const child = spawn(IPVM_BIN, ['start', '--data', dir, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'], env })
  if (!watching) process.once('exit', stopRunning)
  watching = true
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

/**
 * Spawns `ipvm start` (dist/, see `ensureBuilt`) on a fresh data folder and waits for its first
 * healthy answer: the port comes from `<data>/ports.json`, read every 5 ms.
 */
export async function spawnIpvm (opts: { execArgv?: string[], timeoutMs?: number } = {}): Promise<NodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ipvm-bench-child-'))
  writeFileSync(join(dir, 'config.toml'), CONFIG)
  const t0 = performance.now()
  const child = spawnIpvmStart(dir, opts.execArgv)
  let stderr = ''
  child.stderr?.on('data', d => { stderr = (stderr + String(d)).slice(-4000) })
  const stop = async (): Promise<void> => {
    await stopChild(child)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const portsFile = join(dir, 'ports.json')
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
    // the node writes ports.json once JSON-RPC answers (libp2p still starting), and again once all is up
    let ports: PortsFile | undefined
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ipvm start exited while starting: ${stderr}`)
      if (Date.now() > deadline) throw new Error('ipvm start did not answer health within the time allowed')
      ports ??= readPortsOf(portsFile, child.pid)
      if (ports !== undefined && await healthOnce(`ws://127.0.0.1:${ports.rpc.port}`)) break
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    const spawnToHealthyMs = performance.now() - t0
    if (ports.starting !== undefined) ports = await portsWhenUp(child, portsFile, 'ipvm start', { stderr: () => stderr, intervalMs: 5, timeoutMs: Math.max(0, deadline - Date.now()) })
    const spawnToUpMs = performance.now() - t0
    return {
      ...probe(child.pid!),
      wsUrl: `ws://127.0.0.1:${ports.rpc.port}`,
      httpUrl: `http://127.0.0.1:${ports.rpc.port}`,
      ...(ports.metrics !== null ? { metricsUrl: `http://127.0.0.1:${ports.metrics.port}/metrics` } : {}),
      spawnToHealthyMs,
      spawnToUpMs,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** A bare `ws` echo server in a process of its own on 127.0.0.1. */
export async function spawnEcho (): Promise<WsServerProcess> {
  return await spawnWsServer('ws.send(data, { binary: isBinary })', 'the echo server')
}

/**
 * The least a JSON-RPC server on Node.js and `ws` can do for `health`, in a process of its
 * own on 127.0.0.1: parse each frame (JSON.parse) and answer Homestar's result,
 * `{"healthy":true}`, with the request's id (JSON.stringify), nothing checked or counted.
 * Beside a node, it shows which part of the node's time per request is its own and which
 * the runtime's and the library's.
 */
export async function spawnJsonRpcFloor (): Promise<WsServerProcess> {
  return await spawnWsServer('const { id } = JSON.parse(data.toString()); ws.send(JSON.stringify({ jsonrpc: \'2.0\', result: { healthy: true }, id }))', 'the JSON-RPC floor server')
}

export interface WsServerProcess { url: string, pid: number, stop: () => Promise<void> }

/** A `ws` server in a process of its own on 127.0.0.1 running `onMessage` (JavaScript with `ws`, `data` and `isBinary` in scope) for each frame. */
async function spawnWsServer (onMessage: string, what: string): Promise<WsServerProcess> {
  const script = `import { WebSocketServer } from 'ws'
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
wss.on('listening', () => process.stdout.write(wss.address().port + '\\n'))
wss.on('connection', ws => { ws._socket.setNoDelay(true); ws.on('message', (data, isBinary) => { ${onMessage} }) })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', code => reject(new Error(`${what} exited (${code})`)))
    child.stdout?.once('data', d => resolve(Number(String(d).trim())))
  })
  return { url: `ws://127.0.0.1:${port}`, pid: child.pid!, stop: async () => await stopChild(child) }
}

/** `ipvm_task_duration_seconds` totals read from a Prometheus text endpoint. */
export async function scrapeTaskAttempts (metricsUrl: string): Promise<{ count: number, sumSeconds: number }> {
  const text = await (await fetch(metricsUrl)).text()
  let count = 0
  let sumSeconds = 0
  for (const line of text.split('\n')) {
    const m = /^ipvm_task_duration_seconds_(sum|count)(?:\{[^}]*\})? (\S+)/.exec(line)
    if (m === null) continue
    if (m[1] === 'count') count += Number(m[2])
    else sumSeconds += Number(m[2])
  }
  return { count, sumSeconds }
}
