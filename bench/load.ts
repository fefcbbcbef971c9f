/**
 * Load test: many WebSocket clients on loopback, each running workflows (fresh ones that
 * execute, and finished ones that replay), holding a subscription and calling `health`, for
 * a bounded time against a node started as its own process with default limits. Reports
 * throughput, latency percentiles, errors (there must be none) and the node's RSS.
 *
 *   npm run load -- [--clients 200] [--duration 20] [--tasks 2] [--replay-every 5]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { IpvmClient, collectRun } from '../src/client/index.js'
import { parseJson, parseWorkflow } from '../src/ipld/index.js'
import { buildTestComponent } from '../test/utils/wasm.js'

interface Options { clients: number, durationS: number, tasks: number, replayEvery: number }

function parseArgs (argv: string[]): Options {
  const opts: Options = { clients: 200, durationS: 20, tasks: 2, replayEvery: 5 }
  const names: Record<string, keyof Options> = { '--clients': 'clients', '--duration': 'durationS', '--tasks': 'tasks', '--replay-every': 'replayEvery' }
  for (let i = 0; i < argv.length; i++) {
    const key = names[argv[i]]
    const value = Number(argv[i + 1])
    if (key === undefined || !Number.isFinite(value) || value <= 0) throw new Error(`usage: npm run load -- [--clients N] [--duration S] [--tasks N] [--replay-every N] (got ${argv[i]} ${argv[i + 1] ?? ''})`)
    opts[key] = value
    i++
  }
  return opts
}

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Starts `ipvm start` on a temp data folder with port 0; resolves with its RPC port. */
async function startNode (dataDir: string): Promise<{ child: ChildProcess, port: number, stderr: () => string }> {
  const config = join(dataDir, 'config.toml')
  writeFileSync(config, '[rpc]\nport = 0\n[metrics]\nenable = false\n[network]\nenable = false\n')
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--data', dataDir, '--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', d => { stderr += String(d) })
  const portsFile = join(dataDir, 'ports.json')
  const deadline = Date.now() + 60_000
  while (!existsSync(portsFile)) {
    if (child.exitCode !== null) throw new Error(`the node exited (${child.exitCode}): ${stderr}`)
    if (Date.now() > deadline) throw new Error(`the node did not start: ${stderr}`)
    await sleep(50)
  }
  const ports = JSON.parse(readFileSync(portsFile, 'utf8')) as { rpc: { port: number } }
  return { child, port: ports.rpc.port, stderr: () => stderr }
}

async function rssBytes (client: IpvmClient): Promise<number> {
  const r = await client.request<{ metrics: Array<{ metric_name: string, data: Array<{ value: string }> }> }>('metrics', [{ prefix: 'process_resident_memory_bytes' }])
  return Number(r.metrics[0]?.data[0]?.value ?? NaN)
}

async function counter (client: IpvmClient, name: string): Promise<number> {
  const r = await client.request<{ metrics: Array<{ metric_name: string, data: Array<{ value: string }> }> }>('metrics', [{ prefix: name }])
  return (r.metrics.find(m => m.metric_name === name)?.data ?? []).reduce((sum, d) => sum + Number(d.value), 0)
}

/** add_one applied `length` times to `start`, each task awaiting the one before by its instruction CID. */
function addOneChain (rsc: string, length: number, start: number): object {
  const tasks: object[] = []
  let previous: string | undefined
  for (let i = 0; i < length; i++) {
    const arg = previous === undefined ? start : { 'await/ok': { '/': previous } }
    const task = { cause: null, meta: { memory: 4294967296, time: 100000 }, prf: [], run: { input: { args: [arg], func: 'add_one' }, nnc: '', op: 'wasm/run', rsc } }
    tasks.push(task)
    previous = parseWorkflow(parseJson(JSON.stringify({ tasks: [task] }))).tasks[0].run.cid.toString()
  }
  return { tasks }
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}

const ms = (x: number): string => `${x.toFixed(1)} ms`
const mib = (x: number): string => `${(x / 1024 / 1024).toFixed(1)} MiB`

async function main (): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const dataDir = mkdtempSync(join(tmpdir(), 'ipvm-load-'))
  const node = await startNode(dataDir)
  const url = `ws://127.0.0.1:${node.port}`
  try {
    const res = await fetch(`http://127.0.0.1:${node.port}/add`, { method: 'POST', body: Buffer.from(await buildTestComponent()) })
    const rsc = `ipfs://${(await res.json() as { cid: string }).cid}`
    const chain = (start: number): object => addOneChain(rsc, opts.tasks, start)

    const control = await IpvmClient.connect(url)
    // warm up: compile the component once so the run measures steady state
    await collectRun(await control.runWorkflow(chain(-1)), 60_000)
    const rssStart = await rssBytes(control)

    const clients = await Promise.all(Array.from({ length: opts.clients }, async () => await IpvmClient.connect(url)))
    const runLatency: number[] = []
    const replayLatency: number[] = []
    const subscribeLatency: number[] = []
    const healthLatency: number[] = []
    const errors: string[] = []
    let tasksExecuted = 0
    let tasksReplayed = 0
    const started = performance.now()
    const deadline = started + opts.durationS * 1000

    await Promise.all(clients.map(async (client, c) => {
      // one long-lived subscription per client, held for the whole run
      const events = await client.networkEvents().catch((err: Error) => { errors.push(`subscribe_network_events: ${err.message}`) })
      const done: object[] = []
      for (let i = 0; performance.now() < deadline; i++) {
        const replay = i % opts.replayEvery === opts.replayEvery - 1 && done.length > 0
        const wf = replay ? done[i % done.length] : chain(c * 1_000_000 + i)
        try {
          const t0 = performance.now()
          const stream = await client.runWorkflow(wf)
          subscribeLatency.push(performance.now() - t0)
          const r = await collectRun(stream, 60_000)
          ;(replay ? replayLatency : runLatency).push(performance.now() - t0)
          if (r.status.status !== 'completed' || r.receipts.length !== opts.tasks) errors.push(`run ${c}/${i}: ${r.status.status} with ${r.receipts.length} receipts ${JSON.stringify(r.status.error ?? {})}`)
          tasksExecuted += r.status.tasks.executed
          tasksReplayed += r.status.tasks.replayed
          if (!replay) done.push(wf)
          const h0 = performance.now()
          await client.health()
          healthLatency.push(performance.now() - h0)
        } catch (err) {
          errors.push(`client ${c}: ${(err as Error).message}`)
          await sleep(100)
        }
      }
      if (events !== undefined) await events.close()
    }))
    const elapsedS = (performance.now() - started) / 1000
    await Promise.all(clients.map(async c => { await c.close() }))
    await sleep(500)
    const rssEnd = await rssBytes(control)
    const dropped = await counter(control, 'ipvm_rpc_dropped_clients_total')
    const failedRuns = await counter(control, 'ipvm_workflows_failed_total')
    await control.close()

    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)
    const line = (name: string, xs: number[]): string => {
      const s = sorted(xs)
      return `  ${name.padEnd(22)} n=${String(s.length).padStart(6)}  p50 ${ms(percentile(s, 50)).padStart(10)}  p99 ${ms(percentile(s, 99)).padStart(10)}  max ${ms(s[s.length - 1] ?? NaN).padStart(10)}`
    }
    const runs = runLatency.length + replayLatency.length
    console.log(`load: ${opts.clients} WebSocket clients on loopback for ${elapsedS.toFixed(1)} s, workflows of ${opts.tasks} add_one tasks (every ${opts.replayEvery}th a replay), node with default limits in its own process`)
    console.log('throughput')
    console.log(`  workflows completed   ${runs} (${(runs / elapsedS).toFixed(1)}/s): ${runLatency.length} executed, ${replayLatency.length} replayed`)
    console.log(`  tasks                 ${tasksExecuted} executed (${(tasksExecuted / elapsedS).toFixed(1)}/s), ${tasksReplayed} replayed`)
    console.log(`  requests answered     ${subscribeLatency.length + healthLatency.length} (${((subscribeLatency.length + healthLatency.length) / elapsedS).toFixed(1)}/s), besides ${opts.clients} subscriptions held open throughout`)
    console.log('latency (client side)')
    console.log(line('run (submit→final)', runLatency))
    console.log(line('replay (submit→final)', replayLatency))
    console.log(line('subscribe response', subscribeLatency))
    console.log(line('health', healthLatency))
    console.log(`errors                  ${errors.length}${errors.length > 0 ? `: ${errors.slice(0, 5).join(' | ')}` : ''}`)
    console.log(`node: failed runs ${failedRuns}, dropped clients ${dropped}`)
    console.log(`node RSS                start ${mib(rssStart)}, end ${mib(rssEnd)} (${rssEnd >= rssStart ? '+' : ''}${mib(rssEnd - rssStart)})`)
    if (errors.length > 0 || failedRuns > 0 || dropped > 0) process.exitCode = 1
  } finally {
    node.child.kill('SIGTERM')
    await new Promise(resolve => { if (node.child.exitCode !== null) resolve(null); else node.child.once('exit', resolve) })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
