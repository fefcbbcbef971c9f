/**
 * Benchmark of ipvm-node: `npm run bench -- [--quick] [--json] [--breakdown] [--<count> N]`.
 * A real node runs in this process on 127.0.0.1; the client talks to it over WebSocket.
 * bench/README.md says what each figure means; bench/args.ts has the counts.
 */
import '../src/polyfill.js'
import { cpus, platform, arch, loadavg } from 'node:os'
import { parseBenchArgs, USAGE, type BenchOptions } from './args.js'
import { wasmCallBaseline, wsEchoBaseline } from './baselines.js'
import { healthRate, workflowBench } from './phases.js'
import { startBenchNode, startToHealthy } from './bench-node.js'
import { formatReport, type BenchReport } from './report.js'
import { nodesMain } from './nodes-main.js'

const REPLAY_P50_TARGET_MS = 5
const CONCURRENT_CHAINS_TARGET = 500
const ONE_CHAIN_TARGET = 100

async function main (): Promise<number> {
  if (process.argv.slice(2).some(a => a === '--nodes' || a.startsWith('--nodes='))) return await nodesMain(process.argv.slice(2))
  let opts: BenchOptions | 'help'
  try {
    opts = parseBenchArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const t0 = performance.now()
  const loadStart = loadavg()[0]
  const rssStart = process.memoryUsage().rss
  const progress = (what: string): void => { process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`) }

  progress('baselines: ws echo')
  const wsEcho = await wsEchoBaseline(opts.echo, opts.echoConcurrent, opts.inFlight)
  progress('baselines: raw WebAssembly')
  const wasm = await wasmCallBaseline(opts.wasmCalls)

  progress('starting the node')
  const bench = await startBenchNode({ breakdown: opts.breakdown })
  let health: BenchReport['health']
  let workflows: Awaited<ReturnType<typeof workflowBench>>
  let rssEnd: number
  const rateLimit = bench.rateLimit
  try {
    progress('health')
    const seq = await healthRate(bench, opts.health, 1)
    const conc = await healthRate(bench, opts.healthConcurrent, opts.inFlight)
    health = {
      sequential: { ...seq, fractionOfEcho: seq.perSec / wsEcho.sequential.perSec },
      concurrent: { ...conc, fractionOfEcho: conc.perSec / wsEcho.concurrent.perSec, inFlight: opts.inFlight }
    }
    workflows = await workflowBench(bench, opts, phase => progress(phase))
    rssEnd = process.memoryUsage().rss
  } finally {
    await bench.close()
  }
  progress('start -> healthy')
  const starts = await startToHealthy(opts.starts)

  const w = workflows
  const phases = [w.oneTask, w.chainsSequential, w.chainsConcurrent, w.replayOneTask, w.replayChain]
  const failures = phases.reduce((s, p) => s + p.failures + p.lostReceipts, 0)
  const targets: BenchReport['targets'] = [
    { name: `${opts.chainLength}-task chains, ${opts.inFlight} at a time: tasks/s`, target: `>= ${CONCURRENT_CHAINS_TARGET}`, value: w.chainsConcurrent.tasksPerSec, met: w.chainsConcurrent.tasksPerSec >= CONCURRENT_CHAINS_TARGET },
    { name: `${opts.chainLength}-task chain, one at a time: tasks/s`, target: `>= ${ONE_CHAIN_TARGET}`, value: w.chainsSequential.tasksPerSec, met: w.chainsSequential.tasksPerSec >= ONE_CHAIN_TARGET },
    { name: 'replay of 1-task: e2e p50 ms', target: `< ${REPLAY_P50_TARGET_MS}`, value: w.replayOneTask.e2e.p50Ms, met: w.replayOneTask.e2e.p50Ms < REPLAY_P50_TARGET_MS },
    { name: `replay of ${opts.chainLength}-task: e2e p50 ms`, target: `< ${REPLAY_P50_TARGET_MS}`, value: w.replayChain.e2e.p50Ms, met: w.replayChain.e2e.p50Ms < REPLAY_P50_TARGET_MS },
    { name: 'failed workflows + lost receipts', target: '= 0', value: failures, met: failures === 0 }
  ]
  const { json, ...counts } = opts
  const report: BenchReport = {
    environment: { node: process.version, platform: `${platform()} ${arch()}`, cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? '?', date: new Date().toISOString(), loadAverage1m: { start: loadStart, end: loadavg()[0] } },
    options: counts,
    rateLimit,
    baselines: { wsEcho, wasm },
    health,
    workflows: {
      ...w,
      addOneTaskFractionOfWasm: { oneChain: w.chainsSequential.tasksPerSec / wasm.perSec, concurrentChains: w.chainsConcurrent.tasksPerSec / wasm.perSec }
    },
    startToHealthy: starts,
    rss: {
      startBytes: rssStart,
      endBytes: rssEnd,
      maxBytes: process.resourceUsage().maxRSS * 1024,
      note: 'the node runs in-process, so these include the bench client, its baselines and the Wasm worker threads'
    },
    targets,
    failures,
    totalMs: performance.now() - t0
  }
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `\n${formatReport(report)}\n`)
  return failures === 0 ? 0 : 1
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
