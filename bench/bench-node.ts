import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { IpvmNode } from '../src/node/index.js'
import { IpvmClient } from '../src/client/index.js'
import { silentLogger } from '../src/util/logger.js'
import { tempDir, testConfig } from '../test/utils/node.js'
import { median } from './stats.js'
import { Breakdown, instrumentNodes } from './breakdown.js'
import { scrapeTaskAttempts, spawnIpvm, type NodeProcess } from './child.js'

export type StageRow = ReturnType<Breakdown['take']>[number]

/** Main-thread event-loop utilization and CPU (all threads, in cores) over a stretch of the run. */
export interface Load {
  /** Fraction of the time the main thread was busy (1 = saturated). */
  mainThreadBusy: number
  /** Process CPU time over wall time: 1 = one core fully used. */
  cpuCores: number
  /**
   * CPU time of the main thread alone (node and bench client; Wasm workers excluded), in ms,
   * from /proc (10 ms resolution); undefined where /proc is not available. Unlike wall
   * time it barely changes when other processes compete for the CPU.
   */
  mainThreadCpuMs?: number
  /** CPU time of the node's process (every thread), in ms, when it runs in a process of its own. */
  nodeCpuMs?: number
}

const CLOCK_TICKS_PER_SECOND = 100

/** utime + stime of the main thread in ms (Linux), or undefined. */
function mainThreadCpuMs (): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): utime and stime are fields 14 and 15
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

/** Starts measuring this process's load (and the node's CPU, given `nodeCpuMs`); the result ends it. */
export function startLoad (nodeCpuMs?: () => number): () => Load {
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const main0 = mainThreadCpuMs()
  const node0 = nodeCpuMs?.()
  const t0 = performance.now()
  return () => {
    const cpu = process.cpuUsage(cpu0)
    const main1 = mainThreadCpuMs()
    const node1 = nodeCpuMs?.()
    return {
      mainThreadBusy: performance.eventLoopUtilization(elu0).utilization,
      cpuCores: (cpu.user + cpu.system) / 1000 / (performance.now() - t0),
      ...(main0 !== undefined && main1 !== undefined ? { mainThreadCpuMs: main1 - main0 } : {}),
      ...(node0 !== undefined && node1 !== undefined ? { nodeCpuMs: node1 - node0 } : {})
    }
  }
}

/**
 * The node under measure on 127.0.0.1 (free ports, temp data dir, loopback-only network, no
 * mDNS): in this process (`node` is set), or `ipvm start` in a process of its own (`process`).
 */
export interface BenchNode {
  node?: IpvmNode
  process?: NodeProcess
  client: IpvmClient
  httpUrl: string
  /** Node-side `ipvm_task_duration_seconds` totals. */
  taskAttempts: () => Promise<{ count: number, sumSeconds: number }>
  close: () => Promise<void>
  /** Set when the node's stages are timed (`--breakdown`). */
  breakdown?: Breakdown
  /** How the node's per-connection request rate limit was switched off, if it has one. */
  rateLimit: 'off by config' | 'off on the server object' | 'none'
}

/**
 * The bench measures capacity, so a per-connection request rate limit, when the node has one,
 * is switched off: through `rpc.max_requests_per_second = 0` when the configuration knows that
 * key, otherwise on the RPC server's options before any client connects.
 */
function benchConfig (dataDir: string): ReturnType<typeof testConfig> {
  try {
    return testConfig(dataDir, { rpc: { max_requests_per_second: 0 } })
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'CONFIG_UNKNOWN_KEY') throw err
    return testConfig(dataDir)
  }
}

/** Switches the RPC server's per-connection rate limit off if the config could not; says whether it had to. */
export function liftRateLimit (node: IpvmNode): boolean {
  const opts = ((node as unknown as { rpc?: { opts?: { maxRequestsPerSecond?: number } } }).rpc)?.opts
  if (opts?.maxRequestsPerSecond === undefined || opts.maxRequestsPerSecond <= 0) return false
  opts.maxRequestsPerSecond = 0
  return true
}

/** A new node from the bench settings, started, with any request rate limit lifted. */
async function startNode (dataDir: string): Promise<{ node: IpvmNode, rateLimit: BenchNode['rateLimit'] }> {
  const config = benchConfig(dataDir)
  // validateResults stays off (the production default): results are not re-checked against api.json
  const node = new IpvmNode({ config, logger: silentLogger() })
  await node.start()
  const byConfig = (config.rpc as { max_requests_per_second?: number }).max_requests_per_second === 0
  return { node, rateLimit: liftRateLimit(node) ? 'off on the server object' : byConfig ? 'off by config' : 'none' }
}

export async function startBenchNode (opts: { breakdown?: boolean } = {}): Promise<BenchNode> {
  const tmp = tempDir('ipvm-bench-')
  let node: IpvmNode | undefined
  try {
    const { node: started, rateLimit } = await startNode(tmp.dir)
    node = started
    const client = await IpvmClient.connect(started.rpcUrl)
    let breakdown: Breakdown | undefined
    if (opts.breakdown === true) {
      breakdown = new Breakdown()
      instrumentNodes(breakdown)
    }
    return {
      node: started,
      client,
      rateLimit,
      taskAttempts: async () => await taskAttemptTotals(started),
      ...(breakdown !== undefined ? { breakdown } : {}),
      httpUrl: started.rpcUrl.replace(/^ws:/, 'http:'),
      close: async () => {
        await client.close()
        await started.stop()
        tmp.remove()
      }
    }
  } catch (err) {
    await node?.stop()
    tmp.remove()
    throw err
  }
}

/** `ipvm start` in a process of its own (see bench/child.ts), with a client connected. */
export async function startChildBenchNode (): Promise<BenchNode> {
  const child = await spawnIpvm()
  try {
    const client = await IpvmClient.connect(child.wsUrl)
    const metricsUrl = child.metricsUrl
    return {
      process: child,
      client,
      rateLimit: 'off by config',
      httpUrl: child.httpUrl,
      taskAttempts: async () => metricsUrl === undefined ? { count: 0, sumSeconds: 0 } : await scrapeTaskAttempts(metricsUrl),
      close: async () => {
        await client.close()
        await child.stop()
      }
    }
  } catch (err) {
    await child.stop()
    throw err
  }
}

/** Spawn `ipvm start` → first healthy answer, and → every part up, `times` times, each on a fresh data folder. */
export async function spawnToHealthy (times: number): Promise<{ samplesMs: number[], medianMs: number, upSamplesMs: number[], upMedianMs: number }> {
  const samplesMs: number[] = []
  const upSamplesMs: number[] = []
  for (let i = 0; i < times; i++) {
    const child = await spawnIpvm()
    samplesMs.push(child.spawnToHealthyMs)
    upSamplesMs.push(child.spawnToUpMs)
    await child.stop()
  }
  return { samplesMs, medianMs: median(samplesMs), upSamplesMs, upMedianMs: median(upSamplesMs) }
}

/** Create a node → first successful `health` over a new WebSocket, `times` times (each on a fresh data dir). */
export async function startToHealthy (times: number): Promise<{ samplesMs: number[], medianMs: number }> {
  const samplesMs: number[] = []
  for (let i = 0; i < times; i++) {
    const tmp = tempDir('ipvm-bench-start-')
    const t0 = performance.now()
    let node: IpvmNode | undefined
    try {
      node = (await startNode(tmp.dir)).node
      const client = await IpvmClient.connect(node.rpcUrl)
      const { healthy } = await client.health()
      if (!healthy) throw new Error('node answered healthy: false')
      samplesMs.push(performance.now() - t0)
      await client.close()
    } finally {
      await node?.stop()
      tmp.remove()
    }
  }
  return { samplesMs, medianMs: median(samplesMs) }
}

/** Node-side `ipvm_task_duration_seconds` totals (one task attempt: slot wait, resource fetch, Wasm call). */
export async function taskAttemptTotals (node: IpvmNode): Promise<{ count: number, sumSeconds: number }> {
  const metric = node.registry.getSingleMetric('ipvm_task_duration_seconds')
  if (metric === undefined) return { count: 0, sumSeconds: 0 }
  const { values } = await metric.get()
  let count = 0
  let sumSeconds = 0
  for (const v of values as Array<{ metricName?: string, value: number }>) {
    if (v.metricName?.endsWith('_count') === true) count += v.value
    if (v.metricName?.endsWith('_sum') === true) sumSeconds += v.value
  }
  return { count, sumSeconds }
}
