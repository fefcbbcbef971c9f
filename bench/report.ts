import type { BenchOptions } from './args.js'
import type { EchoBaseline, RateResult } from './baselines.js'
import type { Placement } from './placement.js'
import type { RequestRate, WorkflowPhase, WorkflowResults } from './phases.js'
import type { Load, StageRow } from './bench-node.js'
import type { LatencySummary } from './stats.js'
import type { ScalingReport } from './scaling.js'

export interface BenchReport {
  environment: { node: string, platform: string, cpus: number, cpuModel: string, date: string, loadAverage1m: { start: number, end: number } }
  /** Where the node ran: `ipvm start` as a process of its own, or in the bench's process. */
  mode: 'child process' | 'in-process'
  options: Omit<BenchOptions, 'json'>
  /** The node's per-connection request rate limit, switched off for the bench. */
  rateLimit: string
  baselines: { wsEcho: EchoBaseline, wasm: { perSec: number, nsPerCall: number } }
  health: {
    sequential: RequestRate & { fractionOfEcho: number }
    concurrent: RequestRate & { fractionOfEcho: number, inFlight: number }
    /** Sequential again, the client and the servers pinned (bench/placement.ts). */
    placed: Array<{ placement: Placement, echo: RateResult, health: RequestRate & { fractionOfEcho: number } }>
    /** Why `placed` is empty. */
    placedUnavailable?: string
  }
  workflows: WorkflowResults & { addOneTaskFractionOfWasm: { oneChain: number, concurrentChains: number } }
  scaling: ScalingReport
  startToHealthy: { samplesMs: number[], medianMs: number, upSamplesMs?: number[], upMedianMs?: number }
  rss: { afterStartBytes: number, idleBytes: number, afterRunsBytes: number, peakDuringRunsBytes: number, endBytes: number, quietBytes?: number, quietAfterMs?: number, note: string }
  targets: Array<{ name: string, target: string, value: number, met: boolean }>
  failures: number
  totalMs: number
}

/** Homestar 0.3.0 on a 2-vCPU machine (two runs), for comparison. */
export const HOMESTAR = {
  healthSequentialPerSec: [6481, 8574],
  healthSequentialP50Ms: [0.097, 0.079],
  healthSequentialP99Ms: [1.375, 1.096],
  healthConcurrentPerSec: [23_772, 33_839],
  oneTaskTasksPerSec: [1.95, 2.06],
  oneTaskE2eP50Ms: [506, 471],
  chainSequentialTasksPerSec: [2.11, 2.13],
  chainSequentialE2eP50Ms: [4546, 4499],
  chainConcurrentTasksPerSec: [2.29, 2.34],
  chainConcurrentE2eP50Ms: [17_252, 17_464],
  replayOneTaskE2eP50Ms: [43.5, 43.5],
  replayChainE2eP50Ms: [47.2, 43.4],
  replayComplete: '15-16 of 20',
  startToHealthyMs: 113,
  rss: '26 300 kB -> 41 000-42 600 kB (peak 65 600 kB), a process of its own'
} as const

const range = (v: readonly number[], unit = ''): string => `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}${unit}`

export function fmt (v: number): string {
  if (!Number.isFinite(v)) return '–'
  const abs = Math.abs(v)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).replace(/,/g, ' ')
}

function pct (f: number): string {
  if (!Number.isFinite(f)) return '–'
  return f >= 0.001 ? `${(f * 100).toFixed(1)} %` : `${(f * 100).toExponential(1)} %`
}

function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

const lat = (l: LatencySummary): string[] => [fmt(l.p50Ms), fmt(l.p99Ms), fmt(l.maxMs)]
const load = (l: Load, units: number, scale = 1): string[] => [`${Math.round(l.mainThreadBusy * 100)} %`, fmt(l.cpuCores),
  l.mainThreadCpuMs !== undefined ? fmt((l.mainThreadCpuMs * scale) / units) : '–', l.nodeCpuMs !== undefined ? fmt((l.nodeCpuMs * scale) / units) : '–']
const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MB`

function phaseRow (name: string, p: WorkflowPhase, homestar: string): string[] {
  return [name, String(p.workflows), fmt(p.tasksPerSec), ...lat(p.e2e), `${p.failures}`, `${p.lostReceipts}`,
    p.taskAttemptMeanMs !== undefined ? fmt(p.taskAttemptMeanMs) : '–', ...load(p.load, p.tasks), homestar]
}

function stagesTable (name: string, wallMs: number, units: number, unitName: string, stages: StageRow[] | undefined): string[] {
  if (stages === undefined || stages.length === 0) return []
  const rows = [...stages].sort((a, b) => b.totalMs - a.totalMs)
    .map(s => [s.stage, String(s.calls), fmt(s.meanMs), fmt(s.totalMs / units), `${Math.round((100 * s.totalMs) / wallMs)} %`])
  return [`${name}: wall ${fmt(wallMs)} ms for ${units} ${unitName}`,
    table(['stage', 'calls', 'mean ms', `ms per ${unitName.replace(/s$/, '')}`, 'of wall'], rows), '']
}

/** The node answers before libp2p is up: when every part was up (ports.json without `starting`). */
function upLine (s: BenchReport['startToHealthy']): string {
  if (s.upMedianMs === undefined || s.upSamplesMs === undefined) return ''
  return `;\n  every part up (libp2p listening): median ${fmt(s.upMedianMs)} ms of [${s.upSamplesMs.map(fmt).join(', ')}]`
}

function scalingLines (s: ScalingReport): string[] {
  const out: string[] = []
  if (s.sizes.length > 0) {
    out.push('Scaling with workflow size: one fan-out of N independent add_one tasks, submitted alone (wall = submit -> final status)')
    out.push(table(['tasks', 'wall ms', 'wall ms/task', 'CPU ms/task', 'peak RSS', ''], s.sizes.map(x =>
      [String(x.tasks), fmt(x.wallMs), fmt(x.wallMsPerTask), fmt(x.cpuMsPerTask), `${mb(x.peakRssBytes)}${x.peakExact ? '' : ' (sampled)'}`, x.ok ? '' : `FAILED: ${x.problem ?? '?'}`])))
  }
  if (s.concurrency.length > 0) {
    out.push('Scaling with workflows in flight: 10-task chains')
    out.push(table(['in flight', 'workflows', 'tasks/s', 'wall ms/task', 'CPU ms/task', 'failed'], s.concurrency.map(x =>
      [String(x.concurrent), String(x.workflows), fmt(x.tasksPerSec), fmt(x.wallMsPerTask), fmt(x.cpuMsPerTask), String(x.failures)])))
  }
  if (out.length > 0) out.push('CPU = the node process, every thread (in-process: the whole bench process); peak RSS = the node process\'s high-water mark during that run.', '')
  return out
}

export function formatReport (r: BenchReport): string {
  const { baselines: b, health: h, workflows: w, options: o } = r
  const out: string[] = []
  const env = r.environment
  out.push(`ipvm-node benchmark: Node ${env.node}, ${env.platform}, ${env.cpus} cores (${env.cpuModel}), ${env.date}`)
  out.push(`1-minute load average ${fmt(env.loadAverage1m.start)} at start, ${fmt(env.loadAverage1m.end)} at the end${env.loadAverage1m.start > env.cpus * 0.75 || env.loadAverage1m.end > env.cpus * 0.75 ? ': OTHER PROCESSES COMPETE FOR THE CPU, figures are low and noisy (compare with the ws echo baseline)' : ''}`)
  out.push(r.mode === 'child process'
    ? 'The node runs as `bin/ipvm start` (Node.js on dist/cli/main.js, with the launcher\'s memory settings) in a process of its own on 127.0.0.1 (port 0, temp data dir, loopback network, no mDNS); the client talks to it over one WebSocket. The ws echo server runs in a process of its own too.'
    : 'The node runs in this process on 127.0.0.1 (port 0, temp data dir, loopback network, no mDNS); the client talks to it over one WebSocket.')
  out.push(`Per-connection request rate limit: ${r.rateLimit === 'none' ? 'none in this node' : `switched ${r.rateLimit}`}.`)
  out.push(`Counts: ${Object.entries(o).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`)
  out.push('')
  out.push('Requests (latency in ms)')
  out.push(table(['measure', 'n', 'per s', 'p50', 'p99', 'max', 'of ws echo', 'main busy', 'cores', 'main CPU µs/req', 'node CPU µs/req', 'Homestar 0.3.0'], [
    ['ws echo (bare ws server), sequential', String(b.wsEcho.sequential.latency.n), fmt(b.wsEcho.sequential.perSec), ...lat(b.wsEcho.sequential.latency), '100 %', '', '', '', '', ''],
    [`ws echo (bare ws server), ${h.concurrent.inFlight} in flight`, String(b.wsEcho.concurrent.latency.n), fmt(b.wsEcho.concurrent.perSec), ...lat(b.wsEcho.concurrent.latency), '100 %', '', '', '', '', ''],
    ['health, sequential', String(h.sequential.latency.n), fmt(h.sequential.perSec), ...lat(h.sequential.latency), pct(h.sequential.fractionOfEcho), ...load(h.sequential.load, h.sequential.latency.n, 1000),
      `${range(HOMESTAR.healthSequentialPerSec)}/s, p50 ${range(HOMESTAR.healthSequentialP50Ms)}, p99 ${range(HOMESTAR.healthSequentialP99Ms)}`],
    [`health, ${h.concurrent.inFlight} in flight`, String(h.concurrent.latency.n), fmt(h.concurrent.perSec), ...lat(h.concurrent.latency), pct(h.concurrent.fractionOfEcho), ...load(h.concurrent.load, h.concurrent.latency.n, 1000),
      `${range(HOMESTAR.healthConcurrentPerSec)}/s`],
    ...h.placed.flatMap(p => [
      [`ws echo, sequential, pinned: ${p.placement}`, String(p.echo.latency.n), fmt(p.echo.perSec), ...lat(p.echo.latency), '100 %', '', '', '', '', ''],
      [`health, sequential, pinned: ${p.placement}`, String(p.health.latency.n), fmt(p.health.perSec), ...lat(p.health.latency), pct(p.health.fractionOfEcho), ...load(p.health.load, p.health.latency.n, 1000), '']
    ])
  ]))
  out.push(h.placed.length > 0
    ? 'pinned = every thread of the client, the echo and the node on fixed CPUs: one core = all on the same CPU (the cost of the software), two cores = client on one CPU, servers on another (a cross-CPU wake-up each way); unpinned rows depend on where the scheduler puts the processes.'
    : `pinned placements not measured: ${h.placedUnavailable ?? 'unknown reason'}.`)
  out.push(`raw WebAssembly add_one (core module, main thread): ${fmt(b.wasm.perSec)} calls/s (${fmt(b.wasm.nsPerCall)} ns/call)`)
  out.push('')
  out.push(`Workflows of add_one (test component via POST /add), e2e = submit -> final status, ms; warm-up ${fmt(w.warmupMs)} ms`)
  out.push(table(['phase', 'wfs', 'tasks/s', 'e2e p50', 'p99', 'max', 'failed', 'lost', 'task attempt ms', 'main busy', 'cores', 'main CPU ms/task', 'node CPU ms/task', 'Homestar 0.3.0'], [
    phaseRow('1-task, sequential', w.oneTask, `${range(HOMESTAR.oneTaskTasksPerSec)} tasks/s, p50 ${range(HOMESTAR.oneTaskE2eP50Ms)}`),
    phaseRow(`${o.chainLength}-task chain, one at a time`, w.chainsSequential, `${range(HOMESTAR.chainSequentialTasksPerSec)} tasks/s, p50 ${range(HOMESTAR.chainSequentialE2eP50Ms)}`),
    phaseRow(`${o.chainLength}-task chains, ${w.chainsConcurrent.inFlight} at a time`, w.chainsConcurrent, `${range(HOMESTAR.chainConcurrentTasksPerSec)} tasks/s (5 at a time), p50 ${range(HOMESTAR.chainConcurrentE2eP50Ms)}`),
    phaseRow('replay of 1-task', w.replayOneTask, `p50 ${range(HOMESTAR.replayOneTaskE2eP50Ms)}, ${HOMESTAR.replayComplete} complete`),
    phaseRow(`replay of ${o.chainLength}-task`, w.replayChain, `p50 ${range(HOMESTAR.replayChainE2eP50Ms)}, ${HOMESTAR.replayComplete} complete`)
  ]))
  out.push('failed = workflows not completed as expected (wrong output, unexpected replay or not, error, timeout); lost = receipts not delivered;')
  out.push('task attempt = node-side mean of ipvm_task_duration_seconds (slot wait + resource fetch + Wasm call in a worker);')
  out.push(`main busy = event-loop utilization of the bench's main thread${r.mode === 'in-process' ? ' (node + client)' : ' (client)'}; cores = the bench process's CPU time / wall time, all threads;`)
  out.push(`main CPU = CPU time of the bench's main thread${r.mode === 'in-process' ? ' (node + client, not the Wasm workers)' : ' (client)'} per request or task; node CPU = CPU time of the node's process, every thread (child process only).`)
  out.push(`add_one task rate as a fraction of raw WebAssembly calls: one chain ${pct(w.addOneTaskFractionOfWasm.oneChain)}, ${w.chainsConcurrent.inFlight} chains ${pct(w.addOneTaskFractionOfWasm.concurrentChains)}`)
  out.push('')
  out.push(...scalingLines(r.scaling))
  out.push(r.mode === 'child process'
    ? `Spawn -> healthy (spawn of ipvm start -> first health answer over a new WebSocket, fresh data folder): median ${fmt(r.startToHealthy.medianMs)} ms of [${r.startToHealthy.samplesMs.map(fmt).join(', ')}]; Homestar 0.3.0: 120–670 ms${upLine(r.startToHealthy)}`
    : `Start -> healthy (new IpvmNode -> first health answer over a new WebSocket): median ${fmt(r.startToHealthy.medianMs)} ms of [${r.startToHealthy.samplesMs.map(fmt).join(', ')}]; Homestar 0.3.0: ${HOMESTAR.startToHealthyMs} ms`)
  const m = r.rss
  out.push(`RSS: ${mb(m.afterStartBytes)} when healthy, ${mb(m.idleBytes)} idle after start, ${mb(m.afterRunsBytes)} after the runs (peak ${mb(m.peakDuringRunsBytes)}), ${mb(m.endBytes)} after the scaling report${m.quietBytes !== undefined ? `, ${mb(m.quietBytes)} ${(m.quietAfterMs ?? 0) / 1000} s later` : ''};`)
  out.push(`  ${m.note}. Homestar 0.3.0: ${HOMESTAR.rss}`)
  out.push('')
  const stageLines = [
    ...stagesTable('health, sequential', h.sequential.latency.n / h.sequential.perSec * 1000, h.sequential.latency.n, 'requests', h.sequential.stages),
    ...stagesTable(`health, ${h.concurrent.inFlight} in flight`, h.concurrent.latency.n / h.concurrent.perSec * 1000, h.concurrent.latency.n, 'requests', h.concurrent.stages),
    ...([['1-task, sequential', w.oneTask], [`${o.chainLength}-task chain, one at a time`, w.chainsSequential], [`${o.chainLength}-task chains, ${w.chainsConcurrent.inFlight} at a time`, w.chainsConcurrent],
      ['replay of 1-task', w.replayOneTask], [`replay of ${o.chainLength}-task`, w.replayChain]] as Array<[string, WorkflowPhase]>)
      .flatMap(([name, p]) => stagesTable(name, p.wallMs, p.workflows, 'workflows', p.stages))
  ]
  if (stageLines.length > 0) {
    out.push('Breakdown (--breakdown): wall time inside each node stage, summed over calls (stages nest; concurrent calls overlap)')
    out.push(...stageLines)
  }
  out.push('Targets')
  out.push(table(['target', 'wanted', 'measured', ''], r.targets.map(t => [t.name, t.target, fmt(t.value), t.met ? 'met' : 'MISSED'])))
  out.push('')
  out.push(`${r.failures === 0 ? 'No failures' : `${r.failures} FAILURES`}; total ${fmt(r.totalMs / 1000)} s`)
  return out.join('\n')
}
