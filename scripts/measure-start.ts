// Measures `ipvm start` as a child process: spawn -> first answer to JSON-RPC `health`, spawn ->
// every part up (no `starting` in the answer), and its memory once idle (Linux /proc, and the V8
// heap from its own Prometheus metrics). Fresh data folder each run, loopback, mDNS off.
//   npm run measure:start -- [--runs 9] [--settle-ms 3000] [--entry bin/ipvm | dist/cli/main.js] [--no-network]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_ENTRY, startNode } from './start-node.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    'settle-ms': { type: 'string', default: '3000' },
    entry: { type: 'string', default: DEFAULT_ENTRY },
    'no-network': { type: 'boolean', default: false }
  }
})
const runs = Number(values.runs)
const settleMs = Number(values['settle-ms'])
const MIB = 1024 * 1024

interface Run { healthyMs: number, upMs: number, rss: number, anon: number, file: number, threads: number, heap: Record<string, number> }

async function freePort (): Promise<number> {
  return await new Promise(resolve => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as AddressInfo; s.close(() => resolve(port)) })
  })
}

async function health (port: number): Promise<{ healthy?: boolean, starting?: string[] } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' })
    return ((await res.json()) as { result?: { healthy?: boolean, starting?: string[] } }).result
  } catch {
    return undefined
  }
}

/** V8 heap figures (MiB) from the node's Prometheus text: the whole heap and each space's size. */
async function heapOf (dir: string): Promise<Record<string, number>> {
  const ports = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { metrics: { port: number } | null }
  if (ports.metrics === null) return {}
  const text = await (await fetch(`http://127.0.0.1:${ports.metrics.port}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^(?:homestar_)?nodejs_heap_(size_total_bytes|space_size_total_bytes\{space="(\w+)"\}) ([\d.e+]+)$/gm)) {
    out[m[2] ?? 'total'] = Number(m[3]) / MIB
  }
  return out
}

function proc (pid: number): { rss: number, anon: number, file: number, threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile'), threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1]) }
}

async function once (): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'ipvm-measure-'))
  const port = await freePort()
  const started = performance.now()
  const child = startNode(values.entry, dir, port, { IPVM_NETWORK__MDNS: 'false', ...(values['no-network'] ? { IPVM_NETWORK__ENABLE: 'false' } : {}) })
  try {
    let healthyMs: number | undefined
    for (;;) {
      const h = await health(port)
      if (h?.healthy === true) {
        healthyMs ??= performance.now() - started
        if (h.starting === undefined) break
      }
      if (child.exitCode !== null) throw new Error(`the node exited (${child.exitCode})`)
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    const upMs = performance.now() - started
    await new Promise(resolve => setTimeout(resolve, settleMs))
    return { healthyMs, upMs, ...proc(child.pid!), heap: await heapOf(dir) }
  } finally {
    child.kill('SIGTERM')
    if (child.exitCode === null) await new Promise(resolve => child.once('exit', resolve))
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results: Run[] = []
for (let i = 0; i < runs; i++) {
  const r = await once()
  results.push(r)
  const heap = Object.entries(r.heap).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')
  console.log(`run ${i + 1}: healthy ${r.healthyMs.toFixed(0)} ms, all up ${r.upMs.toFixed(0)} ms; after ${settleMs} ms: RSS ${r.rss.toFixed(1)} MiB (anon ${r.anon.toFixed(1)}, file ${r.file.toFixed(1)}), ${r.threads} threads; V8 heap MiB: ${heap}`)
}
const m = (f: (r: Run) => number): string => median(results.map(f)).toFixed(0)
console.log(`median of ${runs}: healthy ${m(r => r.healthyMs)} ms (min ${Math.min(...results.map(r => r.healthyMs)).toFixed(0)}, max ${Math.max(...results.map(r => r.healthyMs)).toFixed(0)}), all up ${m(r => r.upMs)} ms, RSS ${median(results.map(r => r.rss)).toFixed(1)} MiB (anon ${median(results.map(r => r.anon)).toFixed(1)}), V8 heap ${median(results.map(r => r.heap.total ?? NaN)).toFixed(1)} MiB`)
