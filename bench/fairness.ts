/**
 * Wasm starvation check: a node started in this process (loopback, temp data folder, network
 * off, default limits) runs `--hostile` workflows whose tasks loop forever (`meta.time` 1e12,
 * more of them than there are Wasm workers), while another client runs `--runs` 1-task
 * add_one workflows one after another. Reports the latency of those (submit → final status),
 * first with no hostile run (the baseline), then with them. Exit code 1 if a run failed.
 *
 *   node --import tsx bench/fairness.ts [--hostile 2] [--runs 20]
 */
import { availableParallelism, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { IpvmClient, collectRun } from '../src/client/index.js'
import { IpvmNode } from '../src/node/index.js'
import { randomNonce } from '../src/ipld/index.js'
import { silentLogger } from '../src/util/logger.js'
import { tempDir, testConfig } from '../test/utils/node.js'
import { buildTestCoreModule } from '../test/utils/wasm.js'
import { summarize, type LatencySummary } from './stats.js'

function parseArgs (argv: string[]): { hostile: number, runs: number } {
  const opts = { hostile: 2, runs: 20 }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    const value = Number(argv[i + 1])
    if (!(key in opts) || !Number.isInteger(value) || value < 0) throw new Error(`usage: bench/fairness.ts [--hostile N] [--runs N] (got ${argv[i]})`)
    opts[key as keyof typeof opts] = value
  }
  return opts
}

const task = (rsc: string, func: string, args: unknown[], time: number, nnc = ''): object =>
  ({ cause: null, meta: { time }, prf: [], run: { input: { args, func }, nnc, op: 'wasm/run', rsc } })

async function normalRuns (client: IpvmClient, rsc: string, n: number, offset: number): Promise<{ latency: LatencySummary, failed: number }> {
  const samples: number[] = []
  let failed = 0
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const { status } = await collectRun(await client.runWorkflow({ tasks: [task(rsc, 'add_one', [offset + i], 100_000)] }), 120_000)
    samples.push(performance.now() - t0)
    if (status.status !== 'completed') failed++
  }
  return { latency: summarize(samples), failed }
}

const ms = (v: number): string => `${v.toFixed(1)} ms`
const line = (label: string, s: LatencySummary): string => `  ${label.padEnd(34)} p50 ${ms(s.p50Ms).padStart(10)}  p99 ${ms(s.p99Ms).padStart(10)}  max ${ms(s.maxMs).padStart(10)}`

async function main (): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const dir = tempDir('ipvm-fairness-')
  const node = new IpvmNode({ config: testConfig(dir.dir, { network: { enable: false }, metrics: { enable: false }, rpc: { max_requests_per_second: 0 } }), logger: silentLogger() })
  await node.start()
  const clients: IpvmClient[] = []
  try {
    const http = node.rpcUrl.replace(/^ws:/, 'http:')
    const res = await fetch(`${http}/add`, { method: 'POST', body: Buffer.from(await buildTestCoreModule()) })
    const rsc = `ipfs://${(await res.json() as { cid: string }).cid}`
    const normal = await IpvmClient.connect(node.rpcUrl)
    clients.push(normal)
    await normalRuns(normal, rsc, 3, 1_000_000) // warm-up: prepares the module
    const alone = await normalRuns(normal, rsc, opts.runs, 0)

    const endlessPerRun = availableParallelism() + 1
    for (let h = 0; h < opts.hostile; h++) {
      const client = await IpvmClient.connect(node.rpcUrl)
      clients.push(client)
      const tasks = Array.from({ length: endlessPerRun }, () => task(rsc, 'spin', [], 1e12, randomNonce()))
      void client.runWorkflow({ tasks }).catch(() => {})
    }
    // let the endless calls take every worker
    await new Promise(resolve => setTimeout(resolve, 2000))
    const contended = await normalRuns(normal, rsc, opts.runs, 2_000_000)

    console.log(`fairness: ${availableParallelism()} Wasm workers, load average ${loadavg().map(l => l.toFixed(1)).join(' ')}`)
    console.log(`1-task add_one workflows, one at a time, ${opts.runs} each (submit → final status)`)
    console.log(line('no hostile run', alone.latency))
    console.log(line(`${opts.hostile} runs × ${endlessPerRun} endless tasks`, contended.latency))
    console.log(`  failed runs: ${alone.failed + contended.failed}`)
    process.exitCode = alone.failed + contended.failed > 0 ? 1 : 0
  } finally {
    for (const c of clients) await c.close()
    await node.stop()
    dir.remove()
  }
}

await main()
