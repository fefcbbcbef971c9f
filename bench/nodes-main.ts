/**
 * `npm run bench -- --nodes 1,2,4,8 [--section network|dispatch] …`: the multi-node benches,
 * each node an `ipvm start` child process on 127.0.0.1. `network` (bench/nodes.ts) measures
 * what sharing receipts costs each node as the network grows; `dispatch` (bench/dispatch.ts)
 * measures distributed execution: wide fan-outs spread over the nodes. Both by default.
 */
import { cpus, loadavg } from 'node:os'
import { ensureBuilt } from './cluster.js'
import { benchDispatch, DISPATCH_USAGE, formatDispatch, parseDispatchArgs, type DispatchBenchResult } from './dispatch.js'
import { formatNodesReport, nodesBench, NODES_USAGE, parseNodesArgs } from './nodes.js'

const SECTIONS = ['network', 'dispatch'] as const
type Section = typeof SECTIONS[number]
/** Flags only the dispatch section reads. */
const DISPATCH_FLAGS = new Set(['--tasks', '--rounds', '--cap', '--work', '--single'])
/** Flags both sections read. */
const SHARED_FLAGS = new Set(['--nodes', '--json'])
const QUICK_DISPATCH = { tasks: 32, rounds: 1, single: 10 }

export const USAGE = `${NODES_USAGE}
  --section network|dispatch   one of the two benches (both by default)
${DISPATCH_USAGE}`

interface Split { sections: Section[], network: string[], dispatch: string[], quick: boolean, help: boolean }

/** Each section's flags; a flag either section knows is passed on, the rest to the network section, which refuses what it does not know. */
function split (argv: string[]): Split {
  const out: Split = { sections: [...SECTIONS], network: [], dispatch: [], quick: false, help: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined]
    const value = (): string[] => inline !== undefined ? [arg] : [arg, argv[++i] ?? '']
    if (flag === '--section') {
      const name = inline ?? argv[++i]
      if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--section takes ${SECTIONS.join(' or ')}, not "${String(name)}"`)
      out.sections = [name as Section]
    } else if (DISPATCH_FLAGS.has(flag)) {
      out.dispatch.push(...value())
    } else if (flag === '--nodes') {
      const taken = value()
      out.network.push(...taken)
      out.dispatch.push(...taken)
    } else {
      if (SHARED_FLAGS.has(flag)) out.dispatch.push(arg)
      if (flag === '--quick') out.quick = true
      if (flag === '--help' || flag === '-h') out.help = true
      out.network.push(arg)
    }
  }
  return out
}

export async function nodesMain (argv: string[]): Promise<number> {
  let parts: Split
  let network: ReturnType<typeof parseNodesArgs>
  let dispatch: ReturnType<typeof parseDispatchArgs>
  try {
    parts = split(argv)
    network = parseNodesArgs(parts.network)
    dispatch = parseDispatchArgs(parts.dispatch)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (parts.help || network === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const t0 = performance.now()
  const progress = (what: string): void => { process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`) }
  const loadStart = loadavg()[0]
  const environment = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? '?', date: new Date().toISOString(), loadAverage1m: { start: loadStart, end: loadStart } }
  let networkReport: Awaited<ReturnType<typeof nodesBench>> | undefined
  let dispatchReport: DispatchBenchResult | undefined
  if (parts.sections.includes('network')) {
    ensureBuilt()
    networkReport = await nodesBench(network.opts, progress)
  }
  if (parts.sections.includes('dispatch')) {
    const { json: _json, ...opts } = dispatch
    dispatchReport = await benchDispatch({ ...(parts.quick ? QUICK_DISPATCH : {}), ...opts }, what => progress(`dispatch: ${what}`))
  }
  environment.loadAverage1m.end = loadavg()[0]
  if (network.json) {
    process.stdout.write(`${JSON.stringify({ environment, ...(networkReport !== undefined ? { network: networkReport } : {}), ...(dispatchReport !== undefined ? { dispatch: dispatchReport } : {}) })}\n`)
  } else {
    const blocks = [
      ...(networkReport !== undefined ? [`## What sharing receipts costs\n\n${formatNodesReport(networkReport)}`] : []),
      ...(dispatchReport !== undefined ? [`## Distributed execution\n\n${formatDispatch(dispatchReport)}`] : [])
    ]
    process.stdout.write(`\n${blocks.join('\n\n')}\n\n${environment.cpus} × ${environment.cpuModel}, load average ${loadStart.toFixed(1)} → ${environment.loadAverage1m.end.toFixed(1)}\n`)
  }
  return networkReport === undefined || networkReport.targets.every(t => t.met) ? 0 : 1
}
