/**
 * Load test: many WebSocket clients on loopback, each running workflows (fresh ones that
 * execute, and finished ones that replay), holding a subscription and calling `health`, for
 * a bounded time against a node started as its own process with default limits; a probe
 * client, in a process of its own (bench/probe.ts), asks `health` every 20 ms throughout. Reports throughput, latency percentiles,
 * errors (there must be none), the node's RSS (sampled every half second, against a
 * ceiling) and, with --hostile, what the hostile clients got (bench/hostile.ts).
 *
 * Every client connects from a loopback address of its own (127.1.x.y for normal clients,
 * 127.2.x.y for hostile ones, 127.3.0.1 for the probe), as distinct machines would: the
 * node's request budget is per client address.
 *
 *   npm run load -- [--clients 200] [--duration 20] [--tasks 2] [--replay-every 5] [--rss-ceiling-mib 1024]
 *                   [--hostile] [--flooders 4] [--bombers 2] [--non-readers 60] [--endless 2] [--endless-ms 2000]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { IpvmClient, collectRun } from '../src/client/index.js'
import { parseJson, parseWorkflow } from '../src/ipld/index.js'
import { buildTestComponent } from '../test/utils/wasm.js'
import { bomber, buildBombs, emptyStats, endless, flooder, hostileAddress, nonReader } from './hostile.js'

interface Options {
  clients: number
  durationS: number
  tasks: number
  replayEvery: number
  rssCeilingMib: number
  hostile: boolean
  flooders: number
  bombers: number
  nonReaders: number
  endless: number
  endlessMs: number
}

const USAGE = 'usage: npm run load -- [--clients N] [--duration S] [--tasks N] [--replay-every N] [--rss-ceiling-mib N] [--hostile] [--flooders N] [--bombers N] [--non-readers N] [--endless N] [--endless-ms MS]'

function parseArgs (argv: string[]): Options {
  const opts: Options = { clients: 200, durationS: 20, tasks: 2, replayEvery: 5, rssCeilingMib: 1024, hostile: false, flooders: 4, bombers: 2, nonReaders: 60, endless: 2, endlessMs: 2000 }
  const names: Record<string, Exclude<keyof Options, 'hostile'>> = {
    '--clients': 'clients', '--duration': 'durationS', '--tasks': 'tasks', '--replay-every': 'replayEvery', '--rss-ceiling-mib': 'rssCeilingMib',
    '--flooders': 'flooders', '--bombers': 'bombers', '--non-readers': 'nonReaders', '--endless': 'endless', '--endless-ms': 'endlessMs'
  }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--hostile') {
      opts.hostile = true
      continue
    }
    const key = names[argv[i]]
    const value = Number(argv[i + 1])
    if (key === undefined || !Number.isFinite(value) || value < 0) throw new Error(`${USAGE} (got ${argv[i]} ${argv[i + 1] ?? ''})`)
    opts[key] = value
    i++
  }
  return opts
}

/** The address of the n-th normal client: 127.1.0.1, 127.1.0.2, … */
function normalAddress (n: number): string {
  return `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`
}
const PROBE_ADDRESS = '127.3.0.1'
const CONTROL_ADDRESS = '127.3.0.2'

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const PROBE = fileURLToPath(new URL('./probe.ts', import.meta.url))
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

/** The node process's resident memory, from /proc (Linux), or from the node's own metrics. */
async function nodeRss (pid: number | undefined, control: IpvmClient): Promise<number> {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)
    if (kb !== null) return Number(kb[1]) * 1024
  } catch { /* not Linux: ask the node */ }
  return await rssBytes(control)
}

async function main (): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const dataDir = mkdtempSync(join(tmpdir(), 'ipvm-load-'))
  const node = await startNode(dataDir)
  const url = `ws://127.0.0.1:${node.port}`
  const httpUrl = `http://127.0.0.1:${node.port}`
  try {
    const res = await fetch(`${httpUrl}/add`, { method: 'POST', body: Buffer.from(await buildTestComponent()) })
    const rsc = `ipfs://${(await res.json() as { cid: string }).cid}`
    const chain = (start: number): object => addOneChain(rsc, opts.tasks, start)

    const control = await IpvmClient.connect(url, { localAddress: CONTROL_ADDRESS })
    // warm up: compile the component once so the run measures steady state
    await collectRun(await control.runWorkflow(chain(-1)), 60_000)
    const rssStart = await nodeRss(node.child.pid, control)
    const bombs = opts.hostile ? buildBombs(`ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka`) : []
    const bigReceipts = bigReceiptsWorkflow(rsc)

    // the probe runs in a process of its own: its latencies are the node's, not this process's
    const probe = spawn(process.execPath, ['--import', 'tsx', PROBE, url, PROBE_ADDRESS, String(opts.durationS)], { stdio: ['pipe', 'pipe', 'inherit'] })
    let probeOut = ''
    probe.stdout.on('data', d => { probeOut += String(d) })
    const probeExited = new Promise(resolve => probe.once('exit', resolve))
    await Promise.race([probeExited, (async () => { while (!probeOut.includes('ready\n')) await sleep(20) })()])

    const clients = await Promise.all(Array.from({ length: opts.clients }, async (_, c) => await IpvmClient.connect(url, { localAddress: normalAddress(c) })))
    const runLatency: number[] = []
    const replayLatency: number[] = []
    const subscribeLatency: number[] = []
    const healthLatency: number[] = []
    const probeLatency: number[] = []
    const errors: string[] = []
    const hostile = emptyStats()
    let tasksExecuted = 0
    let tasksReplayed = 0
    let rssMax = rssStart
    const started = performance.now()
    const deadline = started + opts.durationS * 1000

    const sampling = (async () => {
      while (performance.now() < deadline) {
        rssMax = Math.max(rssMax, await nodeRss(node.child.pid, control).catch(() => 0))
        await sleep(500)
      }
    })()
    probe.stdin.end('go\n')
    const probing = (async () => {
      await probeExited
      try {
        const r = JSON.parse(probeOut.slice(probeOut.indexOf('{'))) as { latencies: number[], errors: string[] }
        probeLatency.push(...r.latencies)
        errors.push(...r.errors.map(e => `probe: ${e}`))
      } catch {
        errors.push(`probe: no report (${probeOut.slice(0, 200)})`)
      }
    })()
    const hostiles = !opts.hostile
      ? []
      : [
          ...Array.from({ length: opts.flooders }, async (_, i) => { await flooder(url, hostileAddress(i), deadline, hostile) }),
          ...Array.from({ length: opts.bombers }, async (_, i) => { await bomber(url, httpUrl, hostileAddress(100 + i), bombs, deadline, hostile) }),
          ...Array.from({ length: opts.nonReaders }, async (_, i) => { await nonReader(url, hostileAddress(200 + i), bigReceipts, deadline, hostile) }),
          ...Array.from({ length: opts.endless }, async (_, i) => { await endless(url, hostileAddress(400 + i), rsc, opts.endlessMs, deadline, hostile) })
        ].map(async p => await p.catch((err: Error) => { hostile.unexpected.push(`hostile client failed: ${err.message}`) }))

    await Promise.all([...hostiles, sampling, probing, ...clients.map(async (client, c) => {
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
    })])
    const elapsedS = (performance.now() - started) / 1000
    await Promise.all(clients.map(async c => { await c.close() }))
    await sleep(500)
    const rssEnd = await nodeRss(node.child.pid, control)
    const droppedBy = async (reason: string): Promise<number> => {
      const r = await control.request<{ metrics: Array<{ metric_name: string, data: Array<{ labels?: Record<string, string>, value: string }> }> }>('metrics', [{ prefix: 'ipvm_rpc_dropped_clients_total' }])
      return (r.metrics[0]?.data ?? []).filter(d => d.labels?.reason === reason).reduce((sum, d) => sum + Number(d.value), 0)
    }
    const dropped = await counter(control, 'ipvm_rpc_dropped_clients_total')
    const droppedBudget = await droppedBy('memory_budget')
    const droppedSlow = await droppedBy('slow_client')
    const failedRuns = await counter(control, 'ipvm_workflows_failed_total')
    await control.close()

    const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)
    const line = (name: string, xs: number[]): string => {
      const s = sorted(xs)
      return `  ${name.padEnd(22)} n=${String(s.length).padStart(6)}  p50 ${ms(percentile(s, 50)).padStart(10)}  p99 ${ms(percentile(s, 99)).padStart(10)}  max ${ms(s[s.length - 1] ?? NaN).padStart(10)}`
    }
    const runs = runLatency.length + replayLatency.length
    console.log(`load: ${opts.clients} WebSocket clients on loopback for ${elapsedS.toFixed(1)} s, workflows of ${opts.tasks} add_one task${opts.tasks === 1 ? '' : 's'} (every ${opts.replayEvery}th a replay), node with default limits in its own process${opts.hostile ? `; hostile: ${opts.flooders} flooders, ${opts.bombers} bombers, ${opts.nonReaders} non-readers, ${opts.endless} endless (meta.time ${opts.endlessMs} ms)` : ''}`)
    console.log('throughput')
    console.log(`  workflows completed   ${runs} (${(runs / elapsedS).toFixed(1)}/s): ${runLatency.length} executed, ${replayLatency.length} replayed`)
    console.log(`  tasks                 ${tasksExecuted} executed (${(tasksExecuted / elapsedS).toFixed(1)}/s), ${tasksReplayed} replayed`)
    console.log(`  requests answered     ${subscribeLatency.length + healthLatency.length} (${((subscribeLatency.length + healthLatency.length) / elapsedS).toFixed(1)}/s), besides ${opts.clients} subscriptions held open throughout`)
    console.log('latency (client side)')
    console.log(line('run (submit→final)', runLatency))
    console.log(line('replay (submit→final)', replayLatency))
    console.log(line('subscribe response', subscribeLatency))
    console.log(line('health', healthLatency))
    console.log(line('probe health', probeLatency))
    console.log(`errors                  ${errors.length}${errors.length > 0 ? `: ${errors.slice(0, 5).join(' | ')}` : ''}`)
    console.log(`node: failed runs ${failedRuns}, dropped clients ${dropped} (memory_budget ${droppedBudget}, slow_client ${droppedSlow})`)
    console.log(`node RSS                start ${mib(rssStart)}, max ${mib(rssMax)}, end ${mib(rssEnd)}; ceiling ${opts.rssCeilingMib} MiB`)
    if (opts.hostile) {
      console.log('hostile clients')
      console.log(`  flood and bomb requests  ${hostile.sent} sent, ${hostile.answered} answered (bomb = one request or batch)`)
      console.log(`  answers by code          ${Object.entries(hostile.codes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`)
      console.log(`  non-readers              ${hostile.nonReaderSubscriptions} subscribed; the node dropped ${droppedBudget} connections for rpc.max_total_buffered_bytes`)
      console.log(`  endless tasks            ${hostile.endlessRuns} runs: ${Object.entries(hostile.endlessOutcomes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none ended'}`)
      console.log(`  unexpected               ${hostile.unexpected.length}${hostile.unexpected.length > 0 ? `: ${[...new Set(hostile.unexpected)].slice(0, 5).join(' | ')}` : ''}`)
    }
    // normal clients must see no error; without hostile clients, nothing may fail or be dropped either
    if (errors.length > 0 || rssMax > opts.rssCeilingMib * 1024 * 1024 || hostile.unexpected.length > 0) process.exitCode = 1
    if (!opts.hostile && (failedRuns > 0 || dropped > 0)) process.exitCode = 1
  } finally {
    node.child.kill('SIGTERM')
    await new Promise(resolve => { if (node.child.exitCode !== null) resolve(null); else node.child.once('exit', resolve) })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** A run whose receipts double from 64 KiB to 4 MiB: about 8 MiB of notifications for each subscriber. */
function bigReceiptsWorkflow (rsc: string): object {
  const tasks: object[] = []
  const instruction = (t: object): { 'await/ok': { '/': string } } => ({ 'await/ok': { '/': parseWorkflow(parseJson(JSON.stringify({ tasks: [t] }))).tasks[0].run.cid.toString() } })
  const task = (func: string, args: unknown[]): object => ({ cause: null, meta: {}, prf: [], run: { input: { args, func }, nnc: '', op: 'wasm/run', rsc } })
  tasks.push(task('append_string', ['z'.repeat(32 * 1024)]))
  for (let i = 0; i < 7; i++) tasks.push(task('join_strings', [instruction(tasks[i]), instruction(tasks[i])]))
  return { tasks }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
