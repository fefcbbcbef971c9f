import { collectRun, type IpvmClient } from '../src/client/index.js'
import { task } from '../test/utils/workflows.js'
import { addOneChain, runChecked, type StartValues } from './workflows.js'
import { runPool } from './stats.js'
import type { BenchNode } from './bench-node.js'

/** One workflow of `tasks` independent add_one tasks (a fan-out), submitted alone. */
export interface SizeRow {
  tasks: number
  /** Submit → final status, ms. */
  wallMs: number
  wallMsPerTask: number
  /** CPU time of the node per task, ms: its process (every thread) when it runs in one, else this process. */
  cpuMsPerTask: number
  /** Highest RSS of the node's process during the run (this process's when the node runs in it), bytes. */
  peakRssBytes: number
  /** Whether the peak is the kernel's high-water mark since the run began (else sampled every 20 ms). */
  peakExact: boolean
  ok: boolean
  problem?: string
}

/** `workflows` 10-task chains run `concurrent` at a time. */
export interface ConcurrencyRow {
  concurrent: number
  workflows: number
  tasks: number
  wallMs: number
  tasksPerSec: number
  wallMsPerTask: number
  cpuMsPerTask: number
  failures: number
}

export interface ScalingReport {
  sizes: SizeRow[]
  concurrency: ConcurrencyRow[]
}

function cpuOf (bench: BenchNode): () => number {
  const child = bench.process
  if (child !== undefined) return child.cpuMs
  return () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
}

/** Samples the RSS every 20 ms until stopped; resolves the highest seen. */
function rssSampler (read: () => number): () => number {
  let peak = read()
  const timer = setInterval(() => { peak = Math.max(peak, read()) }, 20)
  return () => {
    clearInterval(timer)
    return Math.max(peak, read())
  }
}

/** A workflow of `n` add_one tasks that do not depend on each other. */
function fanOut (rsc: string, n: number, starts: StartValues): string {
  return JSON.stringify({ tasks: Array.from({ length: n }, () => task(rsc, 'add_one', [starts.take()])) })
}

async function runFanOut (client: IpvmClient, text: string, n: number): Promise<{ ok: boolean, problem?: string }> {
  try {
    const { status, receipts } = await collectRun(await client.runWorkflow(text), 600_000)
    const distinct = new Set(receipts.map(r => r.receipt.ran['/'])).size
    if (status.status !== 'completed') return { ok: false, problem: `status ${status.status}` }
    if (status.tasks.executed !== n) return { ok: false, problem: `executed ${status.tasks.executed} of ${n}` }
    if (distinct !== n) return { ok: false, problem: `${n - distinct} receipts not delivered` }
    return { ok: true }
  } catch (err) {
    return { ok: false, problem: err instanceof Error ? err.message : String(err) }
  }
}

/**
 * Time and CPU per task against workflow size (one fan-out of each size, largest last) and
 * against the number of workflows in flight (10-task chains). Expects the component to be
 * warm (run after the workflow phases).
 */
export async function scalingBench (bench: BenchNode, rsc: string, starts: StartValues, sizes: number[], concurrency: number[], onPhase: (what: string) => void = () => {}): Promise<ScalingReport> {
  const cpu = cpuOf(bench)
  const rss = bench.process?.rssBytes ?? (() => process.memoryUsage().rss)
  const out: ScalingReport = { sizes: [], concurrency: [] }
  for (const n of sizes) {
    onPhase(`scaling: a fan-out of ${n} tasks`)
    const text = fanOut(rsc, n, starts)
    const exact = bench.process?.resetPeakRss() === true
    const sampled = rssSampler(rss)
    const cpu0 = cpu()
    const t0 = performance.now()
    const run = await runFanOut(bench.client, text, n)
    const wallMs = performance.now() - t0
    const cpuMs = cpu() - cpu0
    const peakSampled = sampled()
    out.sizes.push({
      tasks: n,
      wallMs,
      wallMsPerTask: wallMs / n,
      cpuMsPerTask: cpuMs / n,
      peakRssBytes: exact && bench.process !== undefined ? Math.max(bench.process.peakRssBytes(), peakSampled) : peakSampled,
      peakExact: exact,
      ...run
    })
  }
  for (const c of concurrency) {
    onPhase(`scaling: ${c} chains at a time`)
    const workflows = Math.max(2 * c, 16)
    const chains = Array.from({ length: workflows }, () => addOneChain(rsc, 10, starts.take()))
    let failures = 0
    const cpu0 = cpu()
    const wallMs = await runPool(workflows, c, async i => {
      if (!(await runChecked(bench.client, chains[i], false)).ok) failures++
    })
    const cpuMs = cpu() - cpu0
    const tasks = workflows * 10
    out.concurrency.push({ concurrent: c, workflows, tasks, wallMs, tasksPerSec: tasks / (wallMs / 1000), wallMsPerTask: wallMs / tasks, cpuMsPerTask: cpuMs / tasks, failures })
  }
  return out
}
