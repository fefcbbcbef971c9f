import { buildTestComponent } from '../test/utils/wasm.js'
import { addResource } from '../test/utils/workflows.js'
import type { BenchOptions } from './args.js'
import { echoInTurns, openRoundTrips, type RateResult } from './baselines.js'
import { runPool, summarize, type LatencySummary } from './stats.js'
import { addOneChain, runChecked, type BenchWorkflow, type RunCheck, StartValues } from './workflows.js'
import { startLoad, type BenchNode, type Load, type StageRow } from './bench-node.js'

export interface RequestRate {
  perSec: number
  latency: LatencySummary
  load: Load
  stages?: StageRow[]
}

/** Blocks the echo and `health` take turns in, so both see the same load on the machine. */
const BLOCKS = 10
/**
 * Requests each server gets before anything is measured: a fresh node answers its first few
 * thousand requests 3-4 times slower, until V8 has optimized the request path.
 */
const WARM_UP = 10_000

/**
 * `health` requests over a WebSocket of their own, through the same thin client as the ws
 * echo baseline at `echoUrl`, `inFlight` at a time, in turns with the echo (`echoInTurns`),
 * with the node's load read around each block of `health`.
 */
export async function healthAndEcho (bench: BenchNode, echoUrl: string, total: number, inFlight: number): Promise<{ health: RequestRate, echo: RateResult }> {
  const node = await openRoundTrips(bench.httpUrl.replace(/^http:/, 'ws:'))
  let id = 0
  const health = async (): Promise<void> => {
    const r = await node.roundTrip(`{"jsonrpc":"2.0","id":${++id},"method":"health"}`) as { result?: { healthy?: unknown } }
    if (r.result?.healthy !== true) throw new Error(`unhealthy: ${JSON.stringify(r)}`)
  }
  let wallMs = 0
  let nodeCpuMs = 0
  let mainCpuMs = 0
  let busy = 0
  let cores = 0
  try {
    bench.breakdown?.take()
    const rates = await echoInTurns(echoUrl, health, total, inFlight, {
      warmUp: WARM_UP,
      blocks: BLOCKS,
      watch: async block => {
        const load = startLoad(bench.process?.cpuMs)
        const h = await block()
        const l = load()
        wallMs += h.wallMs
        nodeCpuMs += l.nodeCpuMs ?? 0
        mainCpuMs += l.mainThreadCpuMs ?? 0
        busy += l.mainThreadBusy * h.wallMs
        cores += l.cpuCores * h.wallMs
        return h
      }
    })
    const stages = bench.breakdown?.take()
    const load: Load = { mainThreadBusy: busy / wallMs, cpuCores: cores / wallMs, mainThreadCpuMs: mainCpuMs, ...(bench.process !== undefined ? { nodeCpuMs } : {}) }
    return { health: { ...rates.call, load, ...(stages !== undefined ? { stages } : {}) }, echo: rates.echo }
  } finally {
    node.close()
  }
}

export interface WorkflowPhase {
  workflows: number
  tasks: number
  inFlight: number
  wallMs: number
  tasksPerSec: number
  workflowsPerSec: number
  /** Submit → final status, per workflow. */
  e2e: LatencySummary
  failures: number
  lostReceipts: number
  firstProblem?: string
  /** Mean node-side task attempt time over the phase (executed tasks only). */
  taskAttemptMeanMs?: number
  load: Load
  stages?: StageRow[]
}

/** Runs the workflows, `inFlight` at a time, each checked (see `runChecked`). */
export async function workflowPhase (bench: BenchNode, workflows: BenchWorkflow[], inFlight: number, replay: boolean): Promise<WorkflowPhase> {
  const checks: RunCheck[] = new Array(workflows.length)
  const before = await bench.taskAttempts()
  bench.breakdown?.take()
  const load = startLoad(bench.process?.cpuMs)
  const wallMs = await runPool(workflows.length, inFlight, async i => {
    checks[i] = await runChecked(bench.client, workflows[i], replay)
  })
  const loadSeen = load()
  const stages = bench.breakdown?.take()
  const after = await bench.taskAttempts()
  const tasks = workflows.reduce((s, w) => s + w.length, 0)
  const failed = checks.filter(c => !c.ok)
  const attempts = after.count - before.count
  return {
    workflows: workflows.length,
    tasks,
    inFlight,
    wallMs,
    tasksPerSec: tasks / (wallMs / 1000),
    workflowsPerSec: workflows.length / (wallMs / 1000),
    e2e: summarize(checks.filter(c => c.ok).map(c => c.e2eMs)),
    failures: failed.length,
    lostReceipts: checks.reduce((s, c) => s + c.lostReceipts, 0),
    ...(failed[0]?.problem !== undefined ? { firstProblem: failed[0].problem } : {}),
    ...(attempts > 0 ? { taskAttemptMeanMs: ((after.sumSeconds - before.sumSeconds) / attempts) * 1000 } : {}),
    load: loadSeen,
    ...(stages !== undefined ? { stages } : {})
  }
}

export interface WorkflowResults {
  warmupMs: number
  oneTask: WorkflowPhase
  chainsSequential: WorkflowPhase
  chainsConcurrent: WorkflowPhase
  replayOneTask: WorkflowPhase
  replayChain: WorkflowPhase
}

/** The counts the workflow phases take, as the command line gives them. */
export type WorkflowCounts = Pick<BenchOptions, 'warmup' | 'oneTask' | 'chainLength' | 'chains' | 'concurrentChains' | 'replays' | 'inFlight'>

/**
 * Uploads the test component through `POST /add`, warms up (the first call prepares and
 * compiles it), then runs every workflow phase. Every workflow has its own start value, so
 * nothing is replayed except in the replay phases, which re-submit workflows already run.
 */
export async function workflowBench (bench: BenchNode, counts: WorkflowCounts, onPhase: (name: string) => void = () => {}, starts = new StartValues()): Promise<WorkflowResults & { rsc: string }> {
  const rsc = await addResource(bench.httpUrl, await buildTestComponent())
  const make = (length: number, n: number): BenchWorkflow[] => Array.from({ length: n }, () => addOneChain(rsc, length, starts.take()))

  onPhase('warm-up')
  const w0 = performance.now()
  for (const warm of [
    await workflowPhase(bench, [...make(1, Math.max(1, counts.warmup)), ...make(counts.chainLength, 2)], 1, false),
    await workflowPhase(bench, make(counts.chainLength, counts.inFlight), counts.inFlight, false)
  ]) {
    if (warm.failures > 0) throw new Error(`warm-up workflows failed: ${warm.firstProblem ?? '?'}`)
  }
  const warmupMs = performance.now() - w0

  onPhase('1-task workflows')
  const oneTaskWfs = make(1, counts.oneTask)
  const oneTask = await workflowPhase(bench, oneTaskWfs, 1, false)
  onPhase('chains, one at a time')
  const seqChains = make(counts.chainLength, counts.chains)
  const chainsSequential = await workflowPhase(bench, seqChains, 1, false)
  onPhase(`chains, ${counts.inFlight} at a time`)
  const concChains = make(counts.chainLength, counts.concurrentChains)
  const chainsConcurrent = await workflowPhase(bench, concChains, counts.inFlight, false)

  onPhase('replays')
  const replayOneTask = await workflowPhase(bench, pick(oneTaskWfs, counts.replays), 1, true)
  const replayChain = await workflowPhase(bench, pick([...seqChains, ...concChains], counts.replays), 1, true)
  return { warmupMs, oneTask, chainsSequential, chainsConcurrent, replayOneTask, replayChain, rsc }
}

/** `n` items spread evenly over `items` (all of them, cycling, when n exceeds the list). */
function pick<T> (items: T[], n: number): T[] {
  if (items.length === 0) return []
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / Math.max(n, 1)) % items.length])
}
