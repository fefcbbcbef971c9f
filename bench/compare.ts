/**
 * `npm run bench -- --compare CMD`: this node and another one, each in a process of its own,
 * driven through the same phases by the same client speaking Homestar's protocol (requests
 * over one WebSocket, `subscribe_run_workflow` with Homestar's params, receipts counted as
 * they arrive), in A-B-A-B order, for a side-by-side table. CMD is `homestar` (the Homestar
 * 0.3.0 binary of `npm run -s interop:homestar`, started as the interop tests start it, with a
 * stand-in Kubo serving the Wasm) or a shell command with `{port}` (the port it must serve
 * JSON-RPC over WebSocket on), `{dir}` (an empty folder) and `{kubo}` (the port of a
 * stand-in Kubo HTTP API serving the Wasm).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { WebSocket } from 'ws'
import { importFile, type Store } from '../src/store/index.js'
import { buildHomestar030Component } from '../test/utils/wasm.js'
import { memoryStore } from '../test/utils/memory-store.js'
import { addResource, chain } from '../test/utils/workflows.js'
import { FakeKubo, freePort, homestarBinary, HomestarProcess } from '../test/e2e/interop/homestar-process.js'
import { healthOnce, probe, spawnEcho, spawnIpvm, spawnJsonRpcFloor, stopChild, type ProcessProbe, type WsServerProcess } from './child.js'
import { echoInTurns, inTurns, wsEchoBaseline } from './baselines.js'
import { PLACEMENTS, placementUnavailable, withPlacement, type Placement } from './placement.js'
import { measureCalls, median, runPool, summarize, type LatencySummary } from './stats.js'
import { fmt } from './report.js'

export const COMPARE_USAGE = `usage: npm run bench -- --compare CMD [--rounds N] [--json] [--health N] [--health-concurrent N]
       [--in-flight N] [--one-task N] [--chains N] [--chains-in-flight N] [--replays N] [--starts N]

  CMD       homestar: the Homestar 0.3.0 binary (npm run -s interop:homestar installs it)
            or a shell command; {port} = the JSON-RPC WebSocket port it must listen on,
            {dir} = an empty folder, {kubo} = the port of a stand-in Kubo API serving the Wasm
  --rounds  A-B rounds (default 2: A B A B)`

interface CompareCounts { health: number, healthConcurrent: number, inFlight: number, oneTask: number, chains: number, chainsInFlight: number, replays: number, starts: number, rounds: number }
const DEFAULTS: CompareCounts = { health: 5000, healthConcurrent: 20_000, inFlight: 32, oneTask: 20, chains: 10, chainsInFlight: 5, replays: 10, starts: 3, rounds: 2 }

/** A node process the bench started, ready for requests. */
interface Running {
  wsUrl: string
  probe: ProcessProbe
  spawnToHealthyMs: number
  /** `ipfs://…` of the test component as this node fetches it. */
  rsc: string
  stop: () => Promise<void>
}

interface Side { label: string, start: () => Promise<Running> }

/** One round of one node. */
export interface RoundResult {
  /** The ws echo baseline measured right before this node's health phase. */
  echoSequentialPerSec: number
  echoConcurrentPerSec: number
  spawnToHealthyMs: number
  rssIdleBytes: number
  healthSequential: { perSec: number, latency: LatencySummary }
  healthConcurrent: { perSec: number, latency: LatencySummary }
  oneTask: { e2e: LatencySummary, tasksPerSec: number, complete: number, runs: number }
  chains: { e2e: LatencySummary, tasksPerSec: number, complete: number, runs: number }
  replayOne: { e2e: LatencySummary, delivered: number, expected: number }
  replayChain: { e2e: LatencySummary, delivered: number, expected: number }
  rssAfterRunsBytes: number
  peakRssBytes: number
  /** Sequential `health` and the ws echo again, the client and both servers pinned (bench/placement.ts). */
  placed: Array<{ placement: Placement, echoPerSec: number, healthPerSec: number }>
}

/** Blocks the echo and `health` take turns in when pinned, and the calls of each before them. */
const PINNED_BLOCKS = 5
const PINNED_WARM_UP = 2000
/** Blocks the two nodes' `health` take turns in when both run at once. */
const HEAD_TO_HEAD_BLOCKS = 10

/** Sequential `health` of both nodes running at once, in turns, in one placement. */
export interface HeadToHead {
  placement: Placement | 'unpinned'
  perSec: [number, number]
  /** CPU time of each node's process (every thread) per request, over its blocks, µs. */
  cpuUsPerRequest: [number, number]
  /** The JSON-RPC floor server (bench/child.ts `spawnJsonRpcFloor`), in the same turns. */
  floor: { perSec: number, cpuUsPerRequest: number }
}

/** A JSON-RPC client over one WebSocket that reads Homestar's notifications (byte arrays of JSON text, or JSON). */
class RawClient {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  private readonly subs = new Map<string, (value: Record<string, unknown>) => void>()
  private readonly early = new Map<string, Array<Record<string, unknown>>>()

  private constructor (private readonly ws: WebSocket) {
    ws.on('message', data => this.receive(JSON.parse((data as Buffer).toString('utf8')) as Record<string, any>))
    ws.on('close', () => { for (const p of this.pending.values()) p.reject(new Error('the node closed the WebSocket')) })
  }

  static async open (url: string): Promise<RawClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    ;(ws as unknown as { _socket?: { setNoDelay?: (v: boolean) => void } })._socket?.setNoDelay?.(true)
    return new RawClient(ws)
  }

  async request (method: string, params?: unknown): Promise<unknown> {
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }))
    })
  }

  async subscribe (params: unknown, onResult: (value: Record<string, unknown>) => void): Promise<string> {
    const id = await this.request('subscribe_run_workflow', params) as string
    this.subs.set(id, onResult)
    for (const v of this.early.get(id) ?? []) onResult(v)
    this.early.delete(id)
    return id
  }

  async unsubscribe (id: string): Promise<void> {
    this.subs.delete(id)
    await this.request('unsubscribe_run_workflow', [id]).catch(() => {})
  }

  close (): void { this.ws.terminate() }

  private receive (m: Record<string, any>): void {
    if (typeof m.id === 'number' && this.pending.has(m.id)) {
      const p = this.pending.get(m.id)!
      this.pending.delete(m.id)
      if (m.error !== undefined) p.reject(new Error(JSON.stringify(m.error)))
      else p.resolve(m.result)
      return
    }
    const sub = m.params?.subscription
    const result = m.params?.result
    if (typeof sub !== 'string' || result === undefined) return
    const value = (Array.isArray(result) ? JSON.parse(Buffer.from(result as number[]).toString('utf8')) : result) as Record<string, unknown>
    const listener = this.subs.get(sub)
    if (listener !== undefined) listener(value)
    else this.early.set(sub, [...(this.early.get(sub) ?? []), value])
  }
}

/**
 * Submits a workflow Homestar's way and waits for `tasks` distinct receipts (or `timeoutMs`):
 * submit → last receipt, and how many arrived.
 */
async function runWorkflow (client: RawClient, workflow: object, name: string, tasks: number, timeoutMs: number): Promise<{ ms: number, received: number }> {
  const t0 = performance.now()
  const seen = new Set<string>()
  let last = t0
  let done: () => void = () => {}
  const all = new Promise<void>(resolve => { done = resolve })
  const id = await client.subscribe([{ name, workflow }], v => {
    const cid = JSON.stringify(v.receipt_cid ?? v)
    if (seen.has(cid)) return
    seen.add(cid)
    last = performance.now()
    if (seen.size >= tasks) done()
  })
  let timer: NodeJS.Timeout | undefined
  await Promise.race([all, new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })])
  clearTimeout(timer)
  await client.unsubscribe(id)
  return { ms: last - t0, received: seen.size }
}

async function measureNode (node: Running, c: CompareCounts, tag: string, echo: { url: string, pid: number }, progress: (s: string) => void): Promise<RoundResult> {
  await new Promise(resolve => setTimeout(resolve, 1000))
  const rssIdleBytes = node.probe.rssBytes()
  const client = await RawClient.open(node.wsUrl)
  try {
    const health = async (): Promise<void> => {
      const r = await client.request('health') as { healthy?: unknown }
      if (r?.healthy !== true) throw new Error('unhealthy')
    }
    progress(`${tag}: ws echo, then health`)
    const echoRates = await wsEchoBaseline(c.health, c.healthConcurrent, c.inFlight, echo.url)
    await measureCalls(10_000, 1, health)
    const seq = await measureCalls(c.health, 1, health)
    const conc = await measureCalls(c.healthConcurrent, c.inFlight, health)
    const placed: RoundResult['placed'] = []
    if (placementUnavailable() === undefined) {
      for (const placement of PLACEMENTS) {
        progress(`${tag}: ws echo and health in turns, sequential, pinned: ${placement}`)
        const r = await withPlacement(placement, [node.probe.pid, echo.pid], async () => await echoInTurns(echo.url, health, c.health, 1, { warmUp: PINNED_WARM_UP, blocks: PINNED_BLOCKS }))
        placed.push({ placement, echoPerSec: r.echo.perSec, healthPerSec: r.call.perSec })
      }
    }
    let start = 1_000_000 + Math.floor(Math.random() * 1_000_000) * 100
    progress(`${tag}: warm-up`)
    await runWorkflow(client, chain(node.rsc, 1, start++), 'warm-up', 1, 300_000)

    const runs = async (n: number, length: number, inFlight: number): Promise<{ wfs: object[], e2e: LatencySummary, tasksPerSec: number, complete: number }> => {
      const wfs = Array.from({ length: n }, () => chain(node.rsc, length, start++))
      const ms: number[] = []
      const wall = await runPool(n, inFlight, async i => {
        const r = await runWorkflow(client, wfs[i], `bench-${tag}-${i}`, length, 300_000)
        if (r.received === length) ms.push(r.ms)
      })
      return { wfs, e2e: summarize(ms), tasksPerSec: (ms.length * length) / (wall / 1000), complete: ms.length }
    }
    progress(`${tag}: 1-task workflows`)
    const one = await runs(c.oneTask, 1, 1)
    progress(`${tag}: 10-task chains, ${c.chainsInFlight} at a time`)
    const chains = await runs(c.chains, 10, c.chainsInFlight)
    const replay = async (wfs: object[], length: number): Promise<RoundResult['replayOne']> => {
      const ms: number[] = []
      let delivered = 0
      for (let i = 0; i < c.replays; i++) {
        const r = await runWorkflow(client, wfs[i % wfs.length], `replay-${tag}-${i}`, length, 3000)
        delivered += r.received
        if (r.received === length) ms.push(r.ms)
      }
      return { e2e: summarize(ms), delivered, expected: c.replays * length }
    }
    progress(`${tag}: replays`)
    const replayOne = await replay(one.wfs, 1)
    const replayChain = await replay(chains.wfs, 10)
    return {
      echoSequentialPerSec: echoRates.sequential.perSec,
      echoConcurrentPerSec: echoRates.concurrent.perSec,
      spawnToHealthyMs: node.spawnToHealthyMs,
      rssIdleBytes,
      healthSequential: { perSec: seq.perSec, latency: seq.latency },
      healthConcurrent: { perSec: conc.perSec, latency: conc.latency },
      oneTask: { e2e: one.e2e, tasksPerSec: one.tasksPerSec, complete: one.complete, runs: c.oneTask },
      chains: { e2e: chains.e2e, tasksPerSec: chains.tasksPerSec, complete: chains.complete, runs: c.chains },
      replayOne,
      replayChain,
      rssAfterRunsBytes: node.probe.rssBytes(),
      peakRssBytes: node.probe.peakRssBytes(),
      placed
    }
  } finally {
    client.close()
  }
}

/** This node: `ipvm start` (bench/child.ts), the component uploaded through `POST /add`. */
function ipvmSide (wasm: Uint8Array): Side {
  return {
    label: 'ipvm-node',
    start: async () => {
      const child = await spawnIpvm()
      try {
        return { wsUrl: child.wsUrl, probe: child, spawnToHealthyMs: child.spawnToHealthyMs, rsc: await addResource(child.httpUrl, wasm), stop: child.stop }
      } catch (err) {
        await child.stop()
        throw err
      }
    }
  }
}

/** The other node: Homestar 0.3.0 as the interop tests start it, or a shell command. */
function otherSide (command: string, kubo: FakeKubo, rsc: string): Side {
  if (command === 'homestar') {
    const binary = homestarBinary()
    if (!('path' in binary)) throw new Error(`--compare homestar: ${binary.reason}`)
    return {
      label: 'Homestar 0.3.0',
      start: async () => {
        const t0 = performance.now()
        const hs = await HomestarProcess.start({ binary: binary.path, kuboPort: kubo.port })
        const spawnToHealthyMs = performance.now() - t0
        return { wsUrl: hs.wsUrl, probe: probe(hs.child.pid!), spawnToHealthyMs, rsc, stop: async () => await hs.stop() }
      }
    }
  }
  return {
    label: command,
    start: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ipvm-bench-compare-'))
      const port = await freePort()
      const line = command.replaceAll('{port}', String(port)).replaceAll('{dir}', dir).replaceAll('{kubo}', String(kubo.port))
      const t0 = performance.now()
      const child = spawn('/bin/sh', ['-c', `exec ${line}`], { stdio: ['ignore', 'ignore', 'inherit'] })
      const stop = async (): Promise<void> => { await stopChild(child); rmSync(dir, { recursive: true, force: true }) }
      const wsUrl = `ws://127.0.0.1:${port}`
      const deadline = Date.now() + 60_000
      while (!(await healthOnce(wsUrl, 1000))) {
        if (child.exitCode !== null || Date.now() > deadline) {
          await stop()
          throw new Error(`"${line}" did not answer health on ${wsUrl}`)
        }
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      return { wsUrl, probe: probe(child.pid!), spawnToHealthyMs: performance.now() - t0, rsc, stop }
    }
  }
}

export interface CompareReport {
  sides: [string, string]
  counts: CompareCounts
  /** Per side, one result per round (A-B-A-B order). */
  rounds: [RoundResult[], RoundResult[]]
  /** Sequential `health` with both nodes running, in turns: unpinned, then each pinned placement. */
  headToHead: HeadToHead[]
  /** Extra spawn → healthy samples per side (alternating), ms. */
  starts: [number[], number[]]
}

/**
 * Both nodes started and answering at once, their sequential `health` measured in turns
 * (A's block, B's block, A's, B's…, `2 × health` calls each): the rounds above measure one
 * node after the other, and on this machine a sequential rate drifts by more than the
 * difference between the two from one second to the next. The JSON-RPC floor server takes
 * its turn after them: how near the runtime's own limit each node answers. Unpinned, then
 * in each placement (the floor pinned with the nodes).
 */
async function healthHeadToHead (sides: [Side, Side], c: CompareCounts): Promise<HeadToHead[]> {
  const nodes: Running[] = []
  const clients: RawClient[] = []
  let floor: WsServerProcess | undefined
  try {
    for (const side of sides) nodes.push(await side.start())
    floor = await spawnJsonRpcFloor()
    const servers = [...nodes.map(n => ({ url: n.wsUrl, probe: n.probe })), { url: floor.url, probe: probe(floor.pid) }]
    for (const server of servers) clients.push(await RawClient.open(server.url))
    const healths = clients.map(client => async (): Promise<void> => {
      const r = await client.request('health') as { healthy?: unknown }
      if (r?.healthy !== true) throw new Error('unhealthy')
    })
    const run = async (placement: HeadToHead['placement']): Promise<HeadToHead> => {
      const cpuMs = servers.map(() => 0)
      const total = 2 * c.health
      const [a, b, f] = await inTurns(healths, total, 1, {
        warmUp: PINNED_WARM_UP,
        blocks: HEAD_TO_HEAD_BLOCKS,
        watch: async (i, block) => {
          const before = servers[i].probe.cpuMs()
          const measured = await block()
          cpuMs[i] += servers[i].probe.cpuMs() - before
          return measured
        }
      })
      const perRequest = cpuMs.map(ms => 1000 * ms / total)
      return { placement, perSec: [a.perSec, b.perSec], cpuUsPerRequest: [perRequest[0], perRequest[1]], floor: { perSec: f.perSec, cpuUsPerRequest: perRequest[2] } }
    }
    const out: HeadToHead[] = [await run('unpinned')]
    if (placementUnavailable() === undefined) {
      for (const placement of PLACEMENTS) out.push(await withPlacement(placement, servers.map(s => s.probe.pid), async () => await run(placement)))
    }
    return out
  } finally {
    for (const client of clients) client.close()
    for (const node of nodes) await node.stop()
    await floor?.stop()
  }
}

export async function compareBench (command: string, c: CompareCounts, progress: (s: string) => void): Promise<CompareReport> {
  const echo = await spawnEcho()
  const wasm = await buildHomestar030Component()
  let store: Store | undefined
  let kubo: FakeKubo | undefined
  try {
    store = await memoryStore()
    const rsc = `ipfs://${(await importFile(store.blocks, wasm)).toString()}`
    kubo = await FakeKubo.start(store.blocks)
    const sides: [Side, Side] = [ipvmSide(wasm), otherSide(command, kubo, rsc)]
    const rounds: [RoundResult[], RoundResult[]] = [[], []]
    for (let r = 0; r < c.rounds; r++) {
      for (const s of [0, 1] as const) {
        const tag = `${s === 0 ? 'A' : 'B'}${r + 1}`
        progress(`${tag} (${sides[s].label}): starting`)
        const node = await sides[s].start()
        try {
          rounds[s].push(await measureNode(node, c, tag, echo, progress))
        } finally {
          await node.stop()
        }
      }
    }
    progress('health of both nodes at once, in turns')
    const headToHead = await healthHeadToHead(sides, c)
    const starts: [number[], number[]] = [[], []]
    for (let i = 0; i < c.starts; i++) {
      for (const s of [0, 1] as const) {
        progress(`spawn -> healthy: ${sides[s].label} (${i + 1}/${c.starts})`)
        const node = await sides[s].start()
        starts[s].push(node.spawnToHealthyMs)
        await node.stop()
      }
    }
    return { sides: [sides[0].label, sides[1].label], counts: c, rounds, headToHead, starts }
  } finally {
    await echo.stop()
    await kubo?.close()
    await store?.stop()
  }
}

export function formatCompare (r: CompareReport): string {
  const [a, b] = r.rounds
  const mb = (x: number): string => fmt(x / 1024 / 1024)
  type Row = [string, (x: RoundResult) => number, (v: number) => string, 'higher' | 'lower']
  const rows: Row[] = [
    ['ws echo sequential (just before), req/s', x => x.echoSequentialPerSec, fmt, 'higher'],
    ['health sequential, req/s', x => x.healthSequential.perSec, fmt, 'higher'],
    ['health sequential, % of that echo', x => 100 * x.healthSequential.perSec / x.echoSequentialPerSec, fmt, 'higher'],
    ['health sequential, p50 ms', x => x.healthSequential.latency.p50Ms, fmt, 'lower'],
    ...PLACEMENTS.filter(p => a.every(x => x.placed.some(q => q.placement === p))).flatMap((p): Row[] => {
      const at = (x: RoundResult): { echoPerSec: number, healthPerSec: number } => x.placed.find(q => q.placement === p) ?? { echoPerSec: Number.NaN, healthPerSec: Number.NaN }
      return [
        [`ws echo sequential, pinned: ${p}, req/s`, x => at(x).echoPerSec, fmt, 'higher'],
        [`health sequential, pinned: ${p}, req/s`, x => at(x).healthPerSec, fmt, 'higher'],
        [`health sequential, pinned: ${p}, % of that echo`, x => 100 * at(x).healthPerSec / at(x).echoPerSec, fmt, 'higher']
      ]
    }),
    [`ws echo ${r.counts.inFlight} in flight (just before), req/s`, x => x.echoConcurrentPerSec, fmt, 'higher'],
    [`health ${r.counts.inFlight} in flight, req/s`, x => x.healthConcurrent.perSec, fmt, 'higher'],
    ['1-task workflow, e2e p50 ms', x => x.oneTask.e2e.p50Ms, fmt, 'lower'],
    [`10-task chains, ${r.counts.chainsInFlight} at a time, tasks/s`, x => x.chains.tasksPerSec, fmt, 'higher'],
    ['replay of 1 task, p50 ms', x => x.replayOne.e2e.p50Ms, fmt, 'lower'],
    ['replay of 10 tasks, p50 ms', x => x.replayChain.e2e.p50Ms, fmt, 'lower'],
    ['replays: receipts delivered, %', x => 100 * (x.replayOne.delivered + x.replayChain.delivered) / Math.max(1, x.replayOne.expected + x.replayChain.expected), fmt, 'higher'],
    ['spawn -> healthy (this round), ms', x => x.spawnToHealthyMs, fmt, 'lower'],
    ['RSS idle after start, MB', x => x.rssIdleBytes, mb, 'lower'],
    ['RSS after the runs, MB', x => x.rssAfterRunsBytes, mb, 'lower'],
    ['peak RSS, MB', x => x.peakRssBytes, mb, 'lower']
  ]
  const header = ['measure', ...a.map((_, i) => `A${i + 1}`), ...b.map((_, i) => `B${i + 1}`), 'A/B']
  const body = rows.map(([name, get, f, better]) => {
    const ma = median(a.map(get))
    const mbv = median(b.map(get))
    const ratio = better === 'higher' ? ma / mbv : mbv / ma
    return [name, ...a.map(x => f(get(x))), ...b.map(x => f(get(x))), Number.isFinite(ratio) ? `${fmt(ratio)}× ${ratio >= 1 ? 'better' : 'worse'}` : '–']
  })
  const widths = header.map((h, i) => Math.max(h.length, ...body.map(row => (row[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join('  ').trimEnd()
  return [
    `A = ${r.sides[0]} (ipvm start), B = ${r.sides[1]}; each in a process of its own on 127.0.0.1, run in the order ${a.map((_, i) => `A${i + 1} B${i + 1}`).join(' ')}; one client speaking Homestar's protocol.`,
    'ws echo = a bare ws server in a process of its own, measured right before each node\'s health phase (the same client).',
    'pinned = every thread of the client, the echo and the node on fixed CPUs (one core: all on one CPU; two cores: client on one, servers on another), echo and health in turns; unpinned sequential rows depend on where the scheduler puts the processes.',
    `Counts: ${Object.entries(r.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    '',
    line(header), widths.map(w => '-'.repeat(w)).join('  '), ...body.map(line),
    '',
    `health sequential with both nodes running, in turns (A, B, F, A, B, F… in ${HEAD_TO_HEAD_BLOCKS} blocks each, ${2 * r.counts.health} calls each);`,
    'F = the JSON-RPC floor: a bare ws server on Node.js that parses each request and answers {"healthy":true} with its id, nothing else (bench/child.ts):',
    ...r.headToHead.map(h => `  ${`${h.placement}:`.padEnd(11)} A ${fmt(h.perSec[0]).padStart(7)} req/s, B ${fmt(h.perSec[1]).padStart(7)} req/s, F ${fmt(h.floor.perSec).padStart(7)} req/s; A/B ${fmt(h.perSec[0] / h.perSec[1])}×, A/F ${fmt(h.perSec[0] / h.floor.perSec)}×, B/F ${fmt(h.perSec[1] / h.floor.perSec)}×; CPU per request (every thread of the server): A ${fmt(h.cpuUsPerRequest[0])} µs, B ${fmt(h.cpuUsPerRequest[1])} µs, F ${fmt(h.floor.cpuUsPerRequest)} µs`),
    '',
    `spawn -> healthy, extra starts (A B alternating): A median ${fmt(median(r.starts[0]))} ms [${r.starts[0].map(fmt).join(', ')}], B median ${fmt(median(r.starts[1]))} ms [${r.starts[1].map(fmt).join(', ')}]`,
    'A/B = how A compares with B on the median of the rounds; e2e = submit -> last receipt; replays count only runs whose every receipt arrived within 3 s.'
  ].join('\n')
}

export function parseCompareArgs (argv: string[]): { command: string, json: boolean, counts: CompareCounts } | 'help' {
  const names = Object.keys(DEFAULTS) as Array<keyof CompareCounts>
  const kebab = (s: string): string => s.replace(/[A-Z]/g, ch => `-${ch.toLowerCase()}`)
  const options: Record<string, { type: 'string' | 'boolean' }> = { compare: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } }
  for (const n of names) options[kebab(n)] = { type: 'string' }
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false })
  if (values.help === true) return 'help'
  const command = values.compare
  if (typeof command !== 'string' || command.trim() === '') throw new Error('--compare needs a command (or homestar)')
  const counts = { ...DEFAULTS }
  for (const n of names) {
    const raw = values[kebab(n)]
    if (typeof raw !== 'string') continue
    const v = Number(raw)
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${kebab(n)} takes a whole number ≥ 1, not "${raw}"`)
    counts[n] = v
  }
  return { command, json: values.json === true, counts }
}
