/**
 * Benchmark of ipvm-node: `npm run bench -- [--quick] [--json] [--in-process] [--breakdown] [--<count> N]`.
 * The node runs as `ipvm start` in a process of its own on 127.0.0.1 (or in this process with
 * --in-process); the client talks to it over WebSocket.
 * bench/README.md says what each figure means; bench/args.ts has the counts.
 */
import '../src/polyfill.js'
import { cpus, platform, arch, loadavg } from 'node:os'
import { parseBenchArgs, USAGE, type BenchOptions } from './args.js'
import { startLocalEcho, wasmCallBaseline, type EchoBaseline } from './baselines.js'
import { healthAndEcho, workflowBench } from './phases.js'
import { startBenchNode, startChildBenchNode, spawnToHealthy, startToHealthy } from './bench-node.js'
import { fmt, formatReport, type BenchReport } from './report.js'
import { scalingBench, type ScalingReport } from './scaling.js'
import { spawnEcho } from './child.js'
import { compareBench, COMPARE_USAGE, formatCompare, parseCompareArgs } from './compare.js'
import { StartValues } from './workflows.js'
import { nodesMain } from './nodes-main.js'
import { ensureBuilt } from './cluster.js'
import { PLACEMENTS, placementUnavailable, withPlacement } from './placement.js'

const REPLAY_P50_TARGET_MS = 5
/** Homestar 0.3.0's sequential `health` rate in a side-by-side run on a loaded 2-core machine. */
const HOMESTAR_HEALTH_PER_SEC = 4195
/** How long the node sits idle after start before its RSS is read. */
const IDLE_SETTLE_MS = 1000
/** How long after the bench its RSS is read again (the node gives memory back once its workers are quiet 1 s). */
const QUIET_SETTLE_MS = 2000
const CONCURRENT_CHAINS_TARGET = 500
const ONE_CHAIN_TARGET = 100

async function main (): Promise<number> {
  if (process.argv.slice(2).some(a => a === '--nodes' || a.startsWith('--nodes='))) return await nodesMain(process.argv.slice(2))
  if (process.argv.slice(2).some(a => a === '--compare' || a.startsWith('--compare='))) return await compareMain(process.argv.slice(2))
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
  const progress = (what: string): void => { process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`) }
  const child = !opts.inProcess
  if (child) ensureBuilt()
  const rssOfBench = process.memoryUsage().rss

  progress('baselines: raw WebAssembly')
  const wasm = await wasmCallBaseline(opts.wasmCalls)

  progress(child ? 'starting the node (ipvm start)' : 'starting the node (in this process)')
  const bench = child ? await startChildBenchNode() : await startBenchNode({ breakdown: opts.breakdown })
  const rssNow = (): number => bench.process?.rssBytes() ?? process.memoryUsage().rss
  const rssAfterStart = rssNow()
  await new Promise(resolve => setTimeout(resolve, IDLE_SETTLE_MS))
  const rssIdle = rssNow()
  let wsEcho: EchoBaseline
  let health: BenchReport['health']
  let workflows: Awaited<ReturnType<typeof workflowBench>>
  let scaling: ScalingReport
  let rssAfterRuns: number
  let peakDuringRuns: number
  let rssEnd: number
  let rssQuiet: number | undefined
  const rateLimit = bench.rateLimit
  try {
    // the echo and health take turns in blocks, so both see the same load on the machine
    progress(`health, in turns with the ws echo${child ? ' (a process of its own)' : ''}`)
    const echo: { url: string, pid?: number, stop: () => Promise<void> } = child ? await spawnEcho() : await startLocalEcho()
    let seq: Awaited<ReturnType<typeof healthAndEcho>>
    let conc: typeof seq
    const placed: BenchReport['health']['placed'] = []
    // then sequential again with the placement fixed (bench/placement.ts): where the
    // scheduler puts the three processes otherwise decides much of a sequential round trip
    const echoPid = echo.pid
    const unplaced = bench.process === undefined || echoPid === undefined ? 'the node runs in this process' : placementUnavailable()
    try {
      seq = await healthAndEcho(bench, echo.url, opts.health, 1)
      conc = await healthAndEcho(bench, echo.url, opts.healthConcurrent, opts.inFlight)
      if (unplaced === undefined && bench.process !== undefined && echoPid !== undefined) {
        for (const placement of PLACEMENTS) {
          progress(`health, in turns with the ws echo, sequential, pinned: ${placement}`)
          const r = await withPlacement(placement, [bench.process.pid, echoPid], async () => await healthAndEcho(bench, echo.url, opts.health, 1))
          placed.push({ placement, echo: r.echo, health: { ...r.health, fractionOfEcho: r.health.perSec / r.echo.perSec } })
        }
      }
    } finally {
      await echo.stop()
    }
    wsEcho = { sequential: seq.echo, concurrent: conc.echo }
    health = {
      sequential: { ...seq.health, fractionOfEcho: seq.health.perSec / seq.echo.perSec },
      concurrent: { ...conc.health, fractionOfEcho: conc.health.perSec / conc.echo.perSec, inFlight: opts.inFlight },
      placed,
      ...(unplaced !== undefined ? { placedUnavailable: unplaced } : {})
    }
    const starts = new StartValues()
    workflows = await workflowBench(bench, opts, phase => progress(phase), starts)
    rssAfterRuns = rssNow()
    peakDuringRuns = bench.process?.peakRssBytes() ?? process.resourceUsage().maxRSS * 1024
    scaling = await scalingBench(bench, workflows.rsc, starts, opts.scalingSizes, opts.scalingConcurrency, progress)
    rssEnd = rssNow()
    if (child) {
      await new Promise(resolve => setTimeout(resolve, QUIET_SETTLE_MS))
      rssQuiet = rssNow()
    }
  } finally {
    await bench.close()
  }
  progress(child ? 'spawn -> healthy' : 'start -> healthy')
  const startTimes = child ? await spawnToHealthy(opts.starts) : await startToHealthy(opts.starts)

  const { rsc: _rsc, ...w } = workflows
  const phases = [w.oneTask, w.chainsSequential, w.chainsConcurrent, w.replayOneTask, w.replayChain]
  const failures = phases.reduce((s, p) => s + p.failures + p.lostReceipts, 0) +
    scaling.sizes.filter(r => !r.ok).length + scaling.concurrency.reduce((s, r) => s + r.failures, 0)
  const fanOut = scaling.sizes.find(r => r.tasks === 10_000)
  const mib = (b: number): number => b / 1024 / 1024
  const targets: BenchReport['targets'] = [
    { name: 'health, sequential: requests/s', target: `>= ${HOMESTAR_HEALTH_PER_SEC} (Homestar 0.3.0)`, value: health.sequential.perSec, met: health.sequential.perSec >= HOMESTAR_HEALTH_PER_SEC },
    health.placed.length > 0
      ? { name: 'health, sequential: fraction of the ws echo, pinned (lower of one core / two cores)', target: '>= 60 %', value: Math.min(...health.placed.map(p => p.health.fractionOfEcho)) * 100, met: health.placed.every(p => p.health.fractionOfEcho >= 0.6) }
      : { name: 'health, sequential: fraction of the ws echo', target: '>= 60 %', value: health.sequential.fractionOfEcho * 100, met: health.sequential.fractionOfEcho >= 0.6 },
    { name: `${opts.chainLength}-task chains, ${opts.inFlight} at a time: tasks/s`, target: `>= ${CONCURRENT_CHAINS_TARGET}`, value: w.chainsConcurrent.tasksPerSec, met: w.chainsConcurrent.tasksPerSec >= CONCURRENT_CHAINS_TARGET },
    { name: `${opts.chainLength}-task chain, one at a time: tasks/s`, target: `>= ${ONE_CHAIN_TARGET}`, value: w.chainsSequential.tasksPerSec, met: w.chainsSequential.tasksPerSec >= ONE_CHAIN_TARGET },
    { name: 'replay of 1-task: e2e p50 ms', target: `< ${REPLAY_P50_TARGET_MS}`, value: w.replayOneTask.e2e.p50Ms, met: w.replayOneTask.e2e.p50Ms < REPLAY_P50_TARGET_MS },
    { name: `replay of ${opts.chainLength}-task: e2e p50 ms`, target: `< ${REPLAY_P50_TARGET_MS}`, value: w.replayChain.e2e.p50Ms, met: w.replayChain.e2e.p50Ms < REPLAY_P50_TARGET_MS },
    ...(child
      ? [
          { name: 'RSS after start, MB', target: '<= 80', value: mib(rssIdle), met: mib(rssIdle) <= 80 },
          { name: 'RSS after the bench, MB', target: '<= 150', value: mib(rssEnd), met: mib(rssEnd) <= 150 },
          { name: 'spawn -> healthy, median ms', target: '<= 400', value: startTimes.medianMs, met: startTimes.medianMs <= 400 }
        ]
      : []),
    ...(fanOut !== undefined ? [{ name: 'peak RSS of a 10 000-task fan-out, MB', target: '< 200', value: mib(fanOut.peakRssBytes), met: mib(fanOut.peakRssBytes) < 200 }] : []),
    { name: 'failed workflows + lost receipts', target: '= 0', value: failures, met: failures === 0 }
  ]
  const { json, ...counts } = opts
  const report: BenchReport = {
    environment: { node: process.version, platform: `${platform()} ${arch()}`, cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? '?', date: new Date().toISOString(), loadAverage1m: { start: loadStart, end: loadavg()[0] } },
    mode: child ? 'child process' : 'in-process',
    options: counts,
    rateLimit,
    baselines: { wsEcho, wasm },
    health,
    workflows: {
      ...w,
      addOneTaskFractionOfWasm: { oneChain: w.chainsSequential.tasksPerSec / wasm.perSec, concurrentChains: w.chainsConcurrent.tasksPerSec / wasm.perSec }
    },
    scaling,
    startToHealthy: startTimes,
    rss: {
      afterStartBytes: rssAfterStart,
      idleBytes: rssIdle,
      afterRunsBytes: rssAfterRuns,
      peakDuringRunsBytes: peakDuringRuns,
      endBytes: rssEnd,
      ...(rssQuiet !== undefined ? { quietBytes: rssQuiet, quietAfterMs: QUIET_SETTLE_MS } : {}),
      note: child
        ? 'the node process (ipvm start): idle = after start and 1 s without requests; after the runs = after the request and workflow phases, before the scaling report; end = right after the scaling report; quiet = 2 s later, without requests'
        : `the node runs in-process, so these include the bench client (${fmt(mib(rssOfBench))} MB before the node started), its baselines and the Wasm worker threads`
    },
    targets,
    failures,
    totalMs: performance.now() - t0
  }
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `\n${formatReport(report)}\n`)
  return failures === 0 ? 0 : 1
}

/** `--compare CMD …`: this node and another through the same phases (bench/compare.ts). */
async function compareMain (argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCompareArgs>
  try {
    parsed = parseCompareArgs(argv)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${COMPARE_USAGE}\n`)
    return 2
  }
  if (parsed === 'help') {
    process.stdout.write(`${COMPARE_USAGE}\n`)
    return 0
  }
  ensureBuilt()
  const t0 = performance.now()
  const loadStart = loadavg()[0]
  const report = await compareBench(parsed.command, parsed.counts, what => { process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`) })
  const environment = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? '?', date: new Date().toISOString(), loadAverage1m: { start: loadStart, end: loadavg()[0] } }
  process.stdout.write(parsed.json ? `${JSON.stringify({ environment, ...report })}\n` : `\n${formatCompare(report)}\n\n${cpus().length} × ${environment.cpuModel}, load average ${fmt(loadStart)} → ${fmt(environment.loadAverage1m.end)}\n`)
  return 0
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
