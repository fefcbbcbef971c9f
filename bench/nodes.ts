/**
 * The multi-node bench (`npm run bench -- --nodes 1,3,6,10`): what the peer network costs per
 * task as it grows, and whether it loses receipts. For each size N, N `ipvm start` processes
 * on 127.0.0.1 in a full mesh, every node trusting every other:
 *
 * 1. idle: every node's CPU over a quiet stretch (the cost of being in the network at all);
 * 2. cost: after a warm-up (40 chains from the first node, not measured: every node's code
 *    gets optimized), the first node runs `chains` add_one chains one after the other; its CPU per task
 *    and the chain latency, and every other node's CPU per receipt it received (less its idle
 *    rate over the same time);
 * 3. loss: every node submits `meshChains` chains at once; then how many of all the receipts
 *    each node holds when the last run has finished, and again after repair (gossip, the
 *    receipt exchange on connecting and every `network.receipt_sync_interval_ms`).
 */
import { parseArgs } from 'node:util'
import { collectRun, isReceiptNotification, type IpvmClient } from '../src/client/index.js'
import { buildTestComponent } from '../test/utils/wasm.js'
import { addResource } from '../test/utils/workflows.js'
import { startCluster, waitFor, type Cluster, type ClusterNode } from './cluster.js'
import { addOneChain, runChecked, StartValues } from './workflows.js'
import { median, percentile } from './stats.js'

export interface NodesOptions {
  sizes: number[]
  /** Chains the first node runs one after the other in the cost phase. */
  chains: number
  /** Tasks per chain. */
  chainLength: number
  /** Chains every node submits at once in the loss phase. */
  meshChains: number
  /** Quiet stretch measured before the load, in ms. */
  idleMs: number
  /** How long repair may take before what is still missing counts as lost, in ms. */
  repairMs: number
  /** network.receipt_sync_interval_ms of the nodes. */
  syncIntervalMs: number
}

/** Time given to gossip after the last chain before the other nodes' CPU is read. */
const SETTLE_MS = 1500
/**
 * Chains the first node runs before anything is measured. A fresh process runs its code
 * unoptimized until it has handled a few hundred receipts: with 6 nodes, after 10 chains the
 * next 30 still cost each other node 210–340 ms of CPU, from the 40th chain on 120–220 ms.
 */
const WARM_UP_CHAINS = 40

export const NODES_DEFAULTS: Omit<NodesOptions, 'sizes'> = { chains: 30, chainLength: 10, meshChains: 3, idleMs: 5000, repairMs: 60_000, syncIntervalMs: 10_000 }

export interface SizeResult {
  nodes: number
  /** CPU of one node in the network doing nothing, in % of a core (mean over nodes). */
  idleCpuPct: number
  /** Chain submit → final status, ms. */
  chainP50Ms: number
  chainP99Ms: number
  /** The origin's CPU per task it executed, ms (its idle rate not removed: it is small next to the work). */
  originCpuPerTaskMs: number
  /** Every other node's CPU per receipt it received, ms, less its idle rate (median / max over nodes). */
  otherCpuPerReceiptMs?: { median: number, max: number }
  /** Receipts the other nodes received during the cost phase, of (N-1) × tasks. */
  receivedByOthers?: { got: number, of: number }
  /** Loss phase: receipts of all nodes' runs (N × meshChains × chainLength). */
  mesh: { receipts: number, missingAtEnd: number, missingAfterRepair: number, repairMs: number, failedRuns: number }
  /** Largest RSS of a node at the end, MiB. */
  maxRssMiB: number
}

function cpuOf (nodes: ClusterNode[]): number[] {
  return nodes.map(n => n.cpuMs())
}

async function holds (client: IpvmClient, receiptCid: string): Promise<boolean> {
  return await client.request('receipt_get', [receiptCid]).then(() => true, () => false)
}

async function countHeld (nodes: ClusterNode[], cids: string[]): Promise<number[]> {
  return await Promise.all(nodes.map(async n => {
    let held = 0
    for (const c of cids) if (await holds(n.client, c)) held++
    return held
  }))
}

async function measureSize (n: number, opts: Omit<NodesOptions, 'sizes'>, starts: StartValues, progress: (s: string) => void): Promise<SizeResult> {
  progress(`${n} node${n === 1 ? '' : 's'}: starting`)
  const cluster: Cluster = await startCluster(n, { network: { receipt_quorum: Math.min(2, Math.max(1, n - 1)), receipt_sync_interval_ms: opts.syncIntervalMs } })
  try {
    const { nodes } = cluster
    const wasm = await buildTestComponent()
    const rsc = (await Promise.all(nodes.map(async x => await addResource(x.httpUrl, wasm))))[0]
    // warm-up: the first call compiles the component on each node; then chains from the first
    // node, so that every node has handled receipts and peers' requests before it is measured
    // (a fresh process runs its code unoptimized: its first few hundred receipts cost it up to
    // twice what the next ones do)
    await Promise.all(nodes.map(async x => await runChecked(x.client, addOneChain(rsc, 1, starts.take()), false)))
    for (let i = 0; i < WARM_UP_CHAINS; i++) await runChecked(nodes[0].client, addOneChain(rsc, opts.chainLength, starts.take()), false)

    progress(`${n} nodes: idle ${opts.idleMs} ms`)
    const idle0 = cpuOf(nodes)
    const tIdle = performance.now()
    await new Promise(resolve => setTimeout(resolve, opts.idleMs))
    const idleMs = performance.now() - tIdle
    const idleRate = cpuOf(nodes).map((c, i) => (c - idle0[i]) / idleMs)

    progress(`${n} nodes: ${opts.chains} chains on the first node`)
    const [origin, ...others] = nodes
    const receivedBefore = await Promise.all(others.map(async o => await fromPeers(o.client)))
    const before = cpuOf(nodes)
    const t0 = performance.now()
    const receiptCids: string[] = []
    const e2e: number[] = []
    for (let i = 0; i < opts.chains; i++) {
      const wf = addOneChain(rsc, opts.chainLength, starts.take())
      const s = performance.now()
      const r = await collectRun(await origin.client.runWorkflow(wf.text), 60_000)
      e2e.push(performance.now() - s)
      if (r.status.status !== 'completed' || r.status.tasks.executed !== opts.chainLength) throw new Error(`a chain ended ${r.status.status} with ${r.status.tasks.executed} executed`)
      receiptCids.push(...r.receipts.map(x => x.receipt_cid['/']))
    }
    const originCpu = origin.cpuMs() - before[0]
    let otherCpuPerReceiptMs: SizeResult['otherCpuPerReceiptMs']
    let receivedByOthers: SizeResult['receivedByOthers']
    if (others.length > 0) {
      // every other node's CPU once gossip has settled (nothing asks them anything meanwhile:
      // a poll would cost them CPU), less its idle rate, per receipt it took from peers
      await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
      const elapsed = performance.now() - t0
      const cpu = others.map((o, i) => o.cpuMs() - before[i + 1] - idleRate[i + 1] * elapsed)
      const received = (await Promise.all(others.map(async o => await fromPeers(o.client)))).map((r, i) => r - receivedBefore[i])
      const perReceipt = cpu.map((c, i) => c / Math.max(1, received[i])).sort((a, b) => a - b)
      otherCpuPerReceiptMs = { median: median(perReceipt), max: perReceipt.at(-1)! }
      receivedByOthers = { got: received.reduce((s, h) => s + h, 0), of: others.length * receiptCids.length }
    }
    e2e.sort((a, b) => a - b)

    progress(`${n} nodes: ${opts.meshChains} chains on every node at once`)
    const mesh = await lossPhase(nodes, rsc, opts, starts)
    return {
      nodes: n,
      idleCpuPct: (idleRate.reduce((s, r) => s + r, 0) / n) * 100,
      chainP50Ms: median(e2e),
      chainP99Ms: percentile(e2e, 99),
      originCpuPerTaskMs: originCpu / (opts.chains * opts.chainLength),
      ...(otherCpuPerReceiptMs !== undefined ? { otherCpuPerReceiptMs } : {}),
      ...(receivedByOthers !== undefined ? { receivedByOthers } : {}),
      mesh,
      maxRssMiB: Math.max(...nodes.map(x => x.rssBytes())) / 2 ** 20
    }
  } finally {
    await cluster.stop()
  }
}

/** Receipts a node took from peers so far (`ipvm_receipts_from_peers_total`). */
async function fromPeers (client: IpvmClient): Promise<number> {
  const r = await client.request<{ metrics: Array<{ metric_name: string, data: Array<{ value: string | number }> }> }>('metrics', [{ prefix: 'ipvm_receipts_from_peers_total' }])
  return r.metrics.find(m => m.metric_name === 'ipvm_receipts_from_peers_total')?.data.reduce((s, d) => s + Number(d.value), 0) ?? 0
}

async function lossPhase (nodes: ClusterNode[], rsc: string, opts: Omit<NodesOptions, 'sizes'>, starts: StartValues): Promise<SizeResult['mesh']> {
  const all: string[] = []
  let failedRuns = 0
  await Promise.all(nodes.flatMap(node => Array.from({ length: opts.meshChains }, async () => {
    const wf = addOneChain(rsc, opts.chainLength, starts.take())
    try {
      const r = await collectRun(await node.client.runWorkflow(wf.text), 120_000)
      if (r.status.status !== 'completed') failedRuns++
      all.push(...r.receipts.filter(isReceiptNotification).map(x => x.receipt_cid['/']))
    } catch {
      failedRuns++
    }
  })))
  const total = nodes.length * all.length
  const atEnd = (await countHeld(nodes, all)).reduce((s, h) => s + h, 0)
  const t = performance.now()
  let after = atEnd
  if (atEnd < total) {
    await waitFor(async () => {
      after = (await countHeld(nodes, all)).reduce((s, h) => s + h, 0)
      return after === total
    }, opts.repairMs, 'repair').catch(() => {})
  }
  return { receipts: all.length, missingAtEnd: total - atEnd, missingAfterRepair: total - after, repairMs: atEnd < total ? performance.now() - t : 0, failedRuns }
}

export interface NodesReport {
  options: NodesOptions
  sizes: SizeResult[]
  targets: Array<{ name: string, target: string, value: number, met: boolean }>
}

export async function nodesBench (opts: NodesOptions, progress: (s: string) => void): Promise<NodesReport> {
  const starts = new StartValues(1_000_000)
  const sizes: SizeResult[] = []
  for (const n of opts.sizes) sizes.push(await measureSize(n, opts, starts, progress))
  const lone = sizes.find(s => s.nodes === 1)
  const largest = sizes.at(-1)!
  const targets: NodesReport['targets'] = []
  if (lone !== undefined && largest.nodes > 1) {
    const ratio = largest.originCpuPerTaskMs / lone.originCpuPerTaskMs
    targets.push({ name: `origin CPU per task, ${largest.nodes} nodes / 1 node`, target: '<= 3', value: ratio, met: ratio <= 3 })
  }
  for (const s of sizes) {
    if (s.otherCpuPerReceiptMs !== undefined) targets.push({ name: `${s.nodes} nodes: other nodes' CPU per received receipt, ms (max)`, target: '< 1', value: s.otherCpuPerReceiptMs.max, met: s.otherCpuPerReceiptMs.max < 1 })
  }
  for (const s of sizes) {
    targets.push({ name: `${s.nodes} nodes: receipts missing after repair`, target: '= 0', value: s.mesh.missingAfterRepair, met: s.mesh.missingAfterRepair === 0 })
  }
  return { options: opts, sizes, targets }
}

function f (v: number, digits = 2): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(digits)
}

export function formatNodesReport (r: NodesReport): string {
  const o = r.options
  const lines = [
    `Peer network: ${WARM_UP_CHAINS} chains to warm up, then ${o.chains} chains of ${o.chainLength} add_one on the first node, then ${o.meshChains} chains on every node at once; full mesh on 127.0.0.1, everyone trusts everyone`,
    '',
    '| nodes | idle CPU/node | chain p50 / p99 | origin CPU/task | others\' CPU/received receipt (median / max) | received by others | mesh receipts | missing at end | missing after repair (time) | max RSS |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const s of r.sizes) {
    const others = s.otherCpuPerReceiptMs !== undefined ? `${f(s.otherCpuPerReceiptMs.median, 3)} / ${f(s.otherCpuPerReceiptMs.max, 3)} ms` : '–'
    const got = s.receivedByOthers !== undefined ? `${s.receivedByOthers.got}/${s.receivedByOthers.of}` : '–'
    const m = s.mesh
    lines.push(`| ${s.nodes} | ${f(s.idleCpuPct)} % | ${f(s.chainP50Ms)} / ${f(s.chainP99Ms)} ms | ${f(s.originCpuPerTaskMs)} ms | ${others} | ${got} | ${m.receipts}×${s.nodes}${m.failedRuns > 0 ? ` (${m.failedRuns} runs failed)` : ''} | ${m.missingAtEnd} | ${m.missingAfterRepair} (${f(m.repairMs / 1000, 1)} s) | ${f(s.maxRssMiB, 0)} MiB |`)
  }
  lines.push('', 'targets:')
  for (const t of r.targets) lines.push(`  ${t.met ? 'met ' : 'MISS'}  ${t.name}: ${f(t.value, 3)} (${t.target})`)
  return lines.join('\n')
}

export const NODES_USAGE = `usage: npm run bench -- --nodes 1,3,6,10 [--quick] [--json] [--chains N] [--chain-length N] [--mesh-chains N] [--idle-ms N] [--repair-ms N] [--sync-interval-ms N]

  --nodes   network sizes to measure, one after the other (each a fresh set of ipvm start processes)
  --quick   fewer chains and a shorter idle stretch
defaults: ${Object.entries(NODES_DEFAULTS).map(([k, v]) => `${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}=${v}`).join(' ')}`

/** `--nodes 1,3,6,10 …` → options, or 'help'. */
export function parseNodesArgs (argv: string[]): { opts: NodesOptions, json: boolean } | 'help' {
  const numeric = ['chains', 'chain-length', 'mesh-chains', 'idle-ms', 'repair-ms', 'sync-interval-ms'] as const
  const { values } = parseArgs({
    args: argv,
    options: { nodes: { type: 'string' }, quick: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' }, ...Object.fromEntries(numeric.map(k => [k, { type: 'string' as const }])) },
    strict: true,
    allowPositionals: false
  })
  if (values.help === true) return 'help'
  const sizes = String(values.nodes ?? '').split(',').map(s => Number(s.trim()))
  if (sizes.length === 0 || sizes.some(s => !Number.isInteger(s) || s < 1 || s > 32)) throw new Error(`--nodes takes sizes from 1 to 32 separated by commas, not "${String(values.nodes)}"`)
  const opts: NodesOptions = { sizes, ...NODES_DEFAULTS, ...(values.quick === true ? { chains: 5, meshChains: 2, idleMs: 3000 } : {}) }
  for (const k of numeric) {
    const raw = (values as Record<string, unknown>)[k]
    if (typeof raw !== 'string') continue
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} takes a whole number ≥ 1, not "${raw}"`)
    const key = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Omit<NodesOptions, 'sizes'>
    opts[key] = n
  }
  return { opts, json: values.json === true }
}
