/**
 * Several `ipvm start` processes on 127.0.0.1 for the multi-node bench: each on its own temp
 * data folder, free ports, mDNS off, every node trusting every other, connected as a full
 * mesh. Their CPU time is read from /proc, so it counts every thread of the process (the
 * main thread, Wasm workers, libuv) and nothing of the bench's own process.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { IpvmClient } from '../src/client/index.js'
import { portsWhenUp, spawnIpvmStart } from './child.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
/** The `ipvm` command as `npm run build` bundles it (`ensureBuilt` keeps it current). */
export const CLI = join(ROOT, 'dist', 'cli', 'main.js')
const CLOCK_TICKS_PER_SECOND = 100

export interface ClusterNode {
  index: number
  peerId: string
  pid: number
  client: IpvmClient
  httpUrl: string
  /** The Prometheus endpoint (GET …/metrics). */
  metricsUrl: string
  /** utime + stime of the whole process (all threads), in ms; 10 ms resolution. */
  cpuMs: () => number
  /** Resident set size of the process, in bytes. */
  rssBytes: () => number
}

export interface ClusterSettings {
  /** network.* settings of every node, over the bench's own. */
  network?: Record<string, unknown>
  /** Extra TOML sections, verbatim. */
  extraToml?: string
  /** Node.js flags of the node processes (e.g. --cpu-prof). */
  execArgv?: string[]
}

export interface Cluster {
  nodes: ClusterNode[]
  stop: () => Promise<void>
}

/** Builds `dist/` (`npm run build`) when a file of `src/` is newer than its entry point. */
export function ensureBuilt (): void {
  const entry = join(ROOT, 'dist', 'cli', 'main.js')
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0
  const stale = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
    .some(f => statSync(join(ROOT, 'src', f)).mtimeMs > built)
  if (!stale) return
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('npm run build failed')
}

function procStat (pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // fields after the command name, which may hold spaces; [0] is field 3 (state)
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

function toml (v: unknown): string {
  return JSON.stringify(v)
}

/** A node's key seed (base64, for `node.key_seed`) and the peer id it gives. */
export interface Identity { seed: string, peerId: string }

export async function identity (): Promise<Identity> {
  const seed = randomBytes(32)
  return { seed: seed.toString('base64'), peerId: peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString() }
}

interface Started { child: ChildProcess, dir: string, ports: { rpc: { port: number }, metrics: { port: number } | null, listeners: string[] } }

async function startProcess (dir: string, config: string, children: ChildProcess[], execArgv: string[]): Promise<Started> {
  writeFileSync(join(dir, 'config.toml'), config)
  const child = spawnIpvmStart(dir, execArgv)
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', d => { stderr += String(d) })
  return { child, dir, ports: await portsWhenUp(child, join(dir, 'ports.json'), 'a node', { stderr: () => stderr }) }
}

/**
 * Starts `count` nodes one after the other, each dialling all the earlier ones, and waits
 * until every node is connected to every other.
 */
export async function startCluster (count: number, settings: ClusterSettings = {}): Promise<Cluster> {
  const ids = await Promise.all(Array.from({ length: count }, identity))
  const children: ChildProcess[] = []
  const dirs: string[] = []
  const nodes: ClusterNode[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(async n => await n.client.close().catch(() => {})))
    await Promise.all(children.map(async c => {
      if (c.exitCode !== null || c.signalCode !== null) return
      const exited = new Promise(resolve => c.once('exit', resolve))
      c.kill('SIGTERM')
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
  try {
    const listeners: string[] = []
    for (let i = 0; i < count; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'ipvm-bench-nodes-'))
      dirs.push(dir)
      const network = {
        listen: ['/ip4/127.0.0.1/tcp/0'],
        mdns: false,
        peers: listeners.slice(),
        trusted_peers: ids.filter((_, j) => j !== i).map(x => x.peerId),
        ...settings.network
      }
      const config = [
        '[node]', `key_seed = ${toml(ids[i].seed)}`,
        '[rpc]', 'port = 0',
        '[metrics]', 'port = 0',
        '[network]', ...Object.entries(network).map(([k, v]) => `${k} = ${toml(v)}`),
        settings.extraToml ?? ''
      ].join('\n') + '\n'
      const s = await startProcess(dir, config, children, settings.execArgv ?? [])
      const addr = s.ports.listeners.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? s.ports.listeners[0]
      listeners.push(addr.includes('/p2p/') ? addr : `${addr}/p2p/${ids[i].peerId}`)
      const pid = s.child.pid!
      nodes.push({
        index: i,
        peerId: ids[i].peerId,
        pid,
        client: await IpvmClient.connect(`ws://127.0.0.1:${s.ports.rpc.port}`),
        httpUrl: `http://127.0.0.1:${s.ports.rpc.port}`,
        metricsUrl: `http://127.0.0.1:${s.ports.metrics?.port ?? 0}/metrics`,
        cpuMs: () => {
          const f = procStat(pid)
          return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SECOND
        },
        rssBytes: () => Number(procStat(pid)[21]) * 4096
      })
    }
    await waitFor(async () => {
      const counts = await Promise.all(nodes.map(async n => Object.keys((await n.client.node()).dynamic.connections).length))
      return counts.every(c => c >= count - 1)
    }, 60_000, 'every node connected to every other')
    return { nodes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

export async function waitFor (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
