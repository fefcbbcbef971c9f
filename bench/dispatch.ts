/**
 * Distributed execution benchmark: `node --import tsx bench/dispatch.ts --nodes 1,2,4,8`.
 * For each N, a requester (a node in this process) and N-1 executors (`ipvm start` child
 * processes) on 127.0.0.1, each executor taking at most `--cap` tasks of the requester at a
 * time, the requester at most N × cap in flight: wide fan-outs of a CPU-bound Wasm task with
 * placement `spread`. Reports throughput, p50/p99 per task, the requester's main-thread CPU
 * per task and per dispatched task, and the latency a dispatch adds to a task run alone.
 */
import '../src/polyfill.js'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import wabtInit from 'wabt'
import { collectRun, isReceiptNotification } from '../src/client/index.js'
import { addResource } from '../test/utils/workflows.js'
import { startExecutor, startRequester, type Executor, type Requester } from './dispatch-nodes.js'
import { CLI, ensureBuilt, identity } from './cluster.js'
import { percentile } from './stats.js'

export interface DispatchBenchOptions {
  /** Node counts to measure (requester included). @default [1, 2, 4, 8] */
  nodes: number[]
  /** Tasks per fan-out. @default 64 */
  tasks: number
  /** Fan-outs measured per node count. @default 2 */
  rounds: number
  /** Tasks of the requester one executor runs at once. @default 1 */
  cap: number
  /** Wasm loop iterations of one task (CPU-bound: about 25 ms of one core of a 2-core VM). @default 20_000_000 */
  work: number
  /** 1-task workflows run one at a time, here and on one peer, for the dispatch overhead. @default 30 */
  single: number
}

export interface DispatchRow {
  nodes: number
  tasksPerSec: number
  /** The same fan-outs with placement local on the same requester: its peers connected, nothing dispatched. */
  localTasksPerSec: number
  p50Ms: number
  p99Ms: number
  /** Requester main-thread CPU over the fan-outs, per task. */
  requesterCpuMsPerTask: number
  /** The same for the fan-outs kept local: the cost of having peers (receipts announced to them) without dispatch. */
  localCpuMsPerTask: number
  /** Tasks that ran on another node. */
  dispatched: number
  /** Attempts lost on peers (faults) or retried, over the measured fan-outs. */
  retries: number
  /** Tasks by executor: `here` or the executor's index. */
  spread: Record<string, number>
}

export interface DispatchBenchResult {
  machine: { cores: number, load: number }
  options: DispatchBenchOptions
  /** A task alone, run here, in ms (median; submit to receipt). */
  localTaskMs: number
  /** The same on one peer (placement remote-first). */
  remoteTaskMs: number
  /** Mean task attempt on the requester (`ipvm_task_duration_seconds`): the Wasm call here, or dispatch, the peer's run and the checks. */
  localAttemptMs: number
  remoteAttemptMs: number
  /** Requester main-thread CPU per 1-task workflow, here and dispatched. */
  localCpuMs: number
  remoteCpuMs: number
  rows: DispatchRow[]
}

export const DISPATCH_USAGE = `distributed execution (--section dispatch): [--tasks N] [--rounds N] [--cap N] [--work N] [--single N]
  --tasks   tasks per fan-out (64)       --rounds  fan-outs per node count (2)
  --cap     tasks one executor takes of the requester at a time (1)
  --work    Wasm loop iterations per task (20000000)   --single  1-task workflows for the dispatch overhead (30)`

export const DEFAULT_DISPATCH_OPTIONS: DispatchBenchOptions = { nodes: [1, 2, 4, 8], tasks: 64, rounds: 2, cap: 1, work: 20_000_000, single: 30 }

/** A core module whose `burn(n, seed)` runs an LCG `n` times from `seed`: CPU only, no memory. */
const BURN_WAT = `(module
  (func (export "burn") (param $n i32) (param $x i32) (result i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $x)))`

async function burnModule (): Promise<Uint8Array> {
  const wabt = await wabtInit()
  const module = wabt.parseWat('burn.wat', BURN_WAT)
  try {
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

/** What `burn(n, seed)` returns. */
function burn (n: number, seed: number): number {
  let x = seed | 0
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0
  return x
}

function fanOut (rsc: string, n: number, work: number, first: number): { tasks: unknown[] } {
  return { tasks: Array.from({ length: n }, (_v, i) => ({ cause: null, meta: { time: 600_000 }, prf: [], run: { input: { args: [work, first + i], func: 'burn' }, nnc: '', op: 'wasm/run', rsc } })) }
}

/** utime + stime of this process's main thread in ms (Linux /proc; 10 ms ticks), or NaN. */
function mainThreadCpuMs (): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

let nextSeed = 1
/** Runs one fan-out (fresh seeds: nothing is replayed); checks every result. */
async function runFanOut (r: Requester, rsc: string, o: DispatchBenchOptions, placement: 'spread' | 'remote-first' | 'local', n: number): Promise<{ ms: number, cpuMs: number, latencies: number[], executors: string[], retries: number }> {
  const first = nextSeed
  nextSeed += n
  const cpu0 = mainThreadCpuMs()
  const t0 = performance.now()
  const latencies: number[] = []
  const run = await collectRun(await r.client.runWorkflow(fanOut(rsc, n, o.work, first), { placement }), 600_000, m => {
    if (isReceiptNotification(m)) latencies.push(performance.now() - t0)
  })
  const ms = performance.now() - t0
  const cpuMs = mainThreadCpuMs() - cpu0
  if (run.status.status !== 'completed' || run.receipts.length !== n) throw new Error(`a fan-out ended ${run.status.status} with ${run.receipts.length}/${n} receipts`)
  const want = new Set(Array.from({ length: n }, (_v, i) => burn(o.work, first + i)))
  for (const rc of run.receipts) if (!want.has(rc.receipt.out[1] as number)) throw new Error(`a wrong result: ${JSON.stringify(rc.receipt.out)}`)
  // checked after the clocks stopped: the check computes every result again, here
  return { ms, cpuMs, latencies, executors: run.receipts.map(rc => rc.metadata.executor ?? '?'), retries: run.status.retries }
}

export async function benchDispatch (opts: Partial<DispatchBenchOptions> = {}, progress: (what: string) => void = () => {}): Promise<DispatchBenchResult> {
  const o = { ...DEFAULT_DISPATCH_OPTIONS, ...opts }
  const wasm = await burnModule()
  const requesterIds = await Promise.all(o.nodes.map(async () => await identity()))
  ensureBuilt()
  const executors: Executor[] = []
  const rows: DispatchRow[] = []
  let single: Singles = { localTaskMs: Number.NaN, remoteTaskMs: Number.NaN, localAttemptMs: Number.NaN, remoteAttemptMs: Number.NaN, localCpuMs: Number.NaN, remoteCpuMs: Number.NaN }
  try {
    const most = Math.max(...o.nodes) - 1
    progress(`starting ${most} executors`)
    for (let i = 0; i < most; i++) executors.push(await startExecutor(CLI, requesterIds.map(id => id.peerId), o.cap))
    // each executor prepares the Wasm once, before anything is measured
    for (const e of executors) {
      const rsc = await addResource(e.httpUrl, wasm)
      await collectRun(await e.client.runWorkflow(fanOut(rsc, 1, 1, 0)), 300_000)
    }
    for (const [k, nodes] of o.nodes.entries()) {
      progress(`N = ${nodes}`)
      const peers = executors.slice(0, nodes - 1)
      const r = await startRequester(requesterIds[k], peers, nodes * o.cap)
      try {
        const rsc = await addResource(r.httpUrl, wasm)
        await runFanOut(r, rsc, o, 'local', 2)
        if (nodes === 2) single = await singles(r, rsc, o)
        await runFanOut(r, rsc, o, 'spread', Math.min(o.tasks, 2 * nodes * o.cap))
        const latencies: number[] = []
        const by: string[] = []
        let ms = 0
        let retries = 0
        let cpu = 0
        for (let round = 0; round < o.rounds; round++) {
          const f = await runFanOut(r, rsc, o, 'spread', o.tasks)
          ms += f.ms
          cpu += f.cpuMs
          retries += f.retries
          latencies.push(...f.latencies)
          by.push(...f.executors)
        }
        const total = o.tasks * o.rounds
        let localMs = 0
        let localCpu = 0
        for (let round = 0; round < o.rounds; round++) {
          const f = await runFanOut(r, rsc, o, 'local', o.tasks)
          localMs += f.ms
          localCpu += f.cpuMs
        }
        const self = r.node.peerId
        const spread: Record<string, number> = {}
        for (const e of by) {
          const key = e === self ? 'here' : String(peers.findIndex(p => p.id.peerId === e))
          spread[key] = (spread[key] ?? 0) + 1
        }
        latencies.sort((a, b) => a - b)
        rows.push({ nodes, tasksPerSec: total / (ms / 1000), localTasksPerSec: total / (localMs / 1000), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), requesterCpuMsPerTask: cpu / total, localCpuMsPerTask: localCpu / total, dispatched: total - (spread.here ?? 0), retries, spread })
      } finally {
        await r.close()
      }
    }
  } finally {
    for (const e of executors) await e.stop().catch(() => {})
  }
  return { machine: { cores: cpus().length, load: loadavg()[0] }, options: o, ...single, rows }
}

type Singles = Pick<DispatchBenchResult, 'localTaskMs' | 'remoteTaskMs' | 'localAttemptMs' | 'remoteAttemptMs' | 'localCpuMs' | 'remoteCpuMs'>

/** Sum and count of the requester's `ipvm_task_duration_seconds{op="burn"}`. */
async function attempts (r: Requester): Promise<{ sum: number, count: number }> {
  const doc = await r.client.request<{ metrics: Array<{ metric_name: string, data: Array<{ labels: Record<string, string> | null, sum?: string, count?: string }> }> }>('metrics', [{ prefix: 'ipvm_task_duration_seconds' }])
  const series = doc.metrics.find(m => m.metric_name === 'ipvm_task_duration_seconds')?.data.find(d => d.labels?.op === 'burn')
  return { sum: Number(series?.sum ?? 0), count: Number(series?.count ?? 0) }
}

/** 1-task workflows one at a time: here, then on the one peer; median latency, mean attempt, requester CPU per workflow. */
async function singles (r: Requester, rsc: string, o: DispatchBenchOptions): Promise<Singles> {
  const measure = async (placement: 'local' | 'remote-first'): Promise<[number, number, number]> => {
    const times: number[] = []
    const a0 = await attempts(r)
    let cpu = 0
    for (let i = 0; i < o.single; i++) {
      const f = await runFanOut(r, rsc, o, placement, 1)
      times.push(f.ms)
      cpu += f.cpuMs / o.single
    }
    const a1 = await attempts(r)
    return [percentile(times.sort((a, b) => a - b), 50), (a1.sum - a0.sum) * 1000 / Math.max(1, a1.count - a0.count), cpu]
  }
  const [localTaskMs, localAttemptMs, localCpuMs] = await measure('local')
  const [remoteTaskMs, remoteAttemptMs, remoteCpuMs] = await measure('remote-first')
  return { localTaskMs, remoteTaskMs, localAttemptMs, remoteAttemptMs, localCpuMs, remoteCpuMs }
}

/** The result as a Markdown table and a few lines, as README and docs/distributed.md show it. */
export function formatDispatch (res: DispatchBenchResult): string {
  const base = res.rows.find(r => r.nodes === 1)?.tasksPerSec
  const lines = [
    `${res.machine.cores} cores, load ${res.machine.load.toFixed(1)}; ${res.options.tasks}-task fan-outs × ${res.options.rounds}, burn(${res.options.work}) per task, cap ${res.options.cap} per executor`,
    '',
    '| nodes | tasks/s (spread) | speedup | tasks/s, placement local | p50 per task | p99 per task | requester CPU per task | same, placement local | dispatched | retries |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...res.rows.map(r => `| ${r.nodes} | ${r.tasksPerSec.toFixed(1)} | ${base !== undefined ? (r.tasksPerSec / base).toFixed(2) : '-'} | ${r.localTasksPerSec.toFixed(1)} | ${r.p50Ms.toFixed(0)} ms | ${r.p99Ms.toFixed(0)} ms | ${r.requesterCpuMsPerTask.toFixed(2)} ms | ${r.localCpuMsPerTask.toFixed(2)} ms | ${r.dispatched} | ${r.retries} |`),
    '',
    `a task alone (N = 2): ${res.localTaskMs.toFixed(1)} ms here, ${res.remoteTaskMs.toFixed(1)} ms on the peer, submit to receipt (median); ` +
    `its attempt ${res.localAttemptMs.toFixed(1)} ms here, ${res.remoteAttemptMs.toFixed(1)} ms dispatched (dispatch overhead ${(res.remoteAttemptMs - res.localAttemptMs).toFixed(1)} ms); ` +
    `requester main-thread CPU per 1-task workflow ${res.localCpuMs.toFixed(1)} ms here, ${res.remoteCpuMs.toFixed(1)} ms dispatched`
  ]
  return lines.join('\n')
}

/** Options of the distributed execution bench from its flags (`--nodes`, `--tasks`, `--rounds`, `--cap`, `--work`, `--single`, `--json`). */
export function parseDispatchArgs (argv: string[]): Partial<DispatchBenchOptions> & { json: boolean } {
  const { values } = parseArgs({ args: argv, options: { nodes: { type: 'string' }, tasks: { type: 'string' }, rounds: { type: 'string' }, cap: { type: 'string' }, work: { type: 'string' }, single: { type: 'string' }, json: { type: 'boolean', default: false } } })
  const int = (v: string | undefined): number | undefined => v === undefined ? undefined : Number.parseInt(v, 10)
  const out: Partial<DispatchBenchOptions> & { json: boolean } = { json: values.json === true }
  if (values.nodes !== undefined) out.nodes = values.nodes.split(',').map(n => Number.parseInt(n, 10))
  for (const key of ['tasks', 'rounds', 'cap', 'work', 'single'] as const) {
    const v = int(values[key])
    if (v !== undefined) out[key] = v
  }
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number' && !(Number.isInteger(v) && v >= 1)) throw new Error(`--${k} must be a positive integer`)
  if (out.nodes !== undefined && out.nodes.some(n => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error('--nodes takes counts from 1 to 16, e.g. 1,2,4,8')
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { json, ...opts } = parseDispatchArgs(process.argv.slice(2))
  const t0 = performance.now()
  const res = await benchDispatch(opts, what => process.stderr.write(`[dispatch ${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`))
  process.stdout.write(json ? `${JSON.stringify(res)}\n` : `${formatDispatch(res)}\n`)
  process.exit(0)
}
