import { parseArgs } from 'node:util'

/** What one bench run does; every count can be set by a flag of the same name in kebab-case. */
export interface BenchOptions {
  json: boolean
  quick: boolean
  /** Time the node's internal stages per phase (adds a little overhead; runs the node in this process). */
  breakdown: boolean
  /** Run the node in the bench's process instead of as `ipvm start` in a process of its own. */
  inProcess: boolean
  /** Fan-out sizes of the scaling report (tasks per workflow). */
  scalingSizes: number[]
  /** Workflows in flight in the scaling report. */
  scalingConcurrency: number[]
  /** Requests kept in flight in the concurrent phases. @default 32 */
  inFlight: number
  /** Raw WebAssembly add_one calls. */
  wasmCalls: number
  /** `health` requests, sequential / in flight (the ws echo takes as many, in turns with them). */
  health: number
  healthConcurrent: number
  /** Workflows run (and not measured) before the workflow phases. */
  warmup: number
  /** Sequential 1-task workflows. */
  oneTask: number
  /** Tasks per chain. @default 10 */
  chainLength: number
  /** Chains run one at a time. */
  chains: number
  /** Chains run `inFlight` at a time. */
  concurrentChains: number
  /** Replays of each kind (1-task and chain). */
  replays: number
  /** Node start → healthy repetitions. */
  starts: number
}

const FULL: Omit<BenchOptions, 'json' | 'quick' | 'breakdown' | 'inProcess' | 'scalingSizes' | 'scalingConcurrency'> = {
  inFlight: 32,
  wasmCalls: 50_000_000,
  health: 20_000,
  healthConcurrent: 50_000,
  warmup: 20,
  oneTask: 500,
  chainLength: 10,
  chains: 100,
  concurrentChains: 1280,
  replays: 100,
  starts: 5
}

const QUICK: Omit<BenchOptions, 'json' | 'quick' | 'breakdown' | 'inProcess' | 'scalingSizes' | 'scalingConcurrency'> = {
  inFlight: 32,
  wasmCalls: 10_000_000,
  health: 5000,
  healthConcurrent: 10_000,
  warmup: 10,
  oneTask: 100,
  chainLength: 10,
  chains: 20,
  concurrentChains: 256,
  replays: 30,
  starts: 3
}

const COUNT_FLAGS = Object.keys(FULL) as Array<keyof typeof FULL>

const SCALING = { full: { sizes: [10, 100, 1000, 10_000], concurrency: [1, 8, 32, 128] }, quick: { sizes: [10, 100, 1000], concurrency: [1, 8, 32] } }

function kebab (name: string): string {
  return name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
}

export const USAGE = `usage: npm run bench -- [--quick] [--json] [--in-process] [--breakdown] [--scaling-sizes N,N…] [--scaling-concurrency N,N…] [--${COUNT_FLAGS.map(kebab).join(' N] [--')} N]
       npm run bench -- --compare CMD [--rounds N] [--json]   (bench/compare.ts: another node through the same phases)
       npm run bench -- --nodes N,M,…                         (bench/nodes.ts: several nodes in a mesh)

  --quick   smaller counts (about 30 s) instead of the defaults (about 1 min)
  --json    print one JSON object instead of the table (npm run -s keeps npm's banner off stdout)
  --in-process  run the node in the bench's process (IpvmNode) instead of \`ipvm start\` in a
            process of its own (dist/, built first when src/ is newer)
  --breakdown  also time the node's internal stages in each phase (store writes, Wasm calls,
            notifications...); wraps private methods, adds a little overhead; implies --in-process
  --scaling-sizes, --scaling-concurrency  the scaling report's fan-out sizes and workflows in
            flight (comma-separated; empty skips that part)
scaling:  sizes=${SCALING.full.sizes.join(',')} concurrency=${SCALING.full.concurrency.join(',')} (quick: ${SCALING.quick.sizes.join(',')} / ${SCALING.quick.concurrency.join(',')})
defaults: ${COUNT_FLAGS.map(k => `${kebab(k)}=${FULL[k]}`).join(' ')}
quick:    ${COUNT_FLAGS.map(k => `${kebab(k)}=${QUICK[k]}`).join(' ')}`

export function parseBenchArgs (argv: string[]): BenchOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    json: { type: 'boolean' }, quick: { type: 'boolean' }, breakdown: { type: 'boolean' }, help: { type: 'boolean' }, 'in-process': { type: 'boolean' }, 'scaling-sizes': { type: 'string' }, 'scaling-concurrency': { type: 'string' }
  }
  for (const k of COUNT_FLAGS) options[kebab(k)] = { type: 'string' }
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false })
  if (values.help === true) return 'help'
  const quick = values.quick === true
  const counts = { ...(quick ? QUICK : FULL) }
  for (const k of COUNT_FLAGS) {
    const raw = values[kebab(k)]
    if (typeof raw !== 'string') continue
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${kebab(k)} takes a whole number ≥ 0, not "${raw}"`)
    counts[k] = n
  }
  if (counts.inFlight < 1) throw new Error('--in-flight must be at least 1')
  if (counts.chainLength < 1) throw new Error('--chain-length must be at least 1')
  const scaling = quick ? SCALING.quick : SCALING.full
  const breakdown = values.breakdown === true
  return {
    json: values.json === true,
    quick,
    breakdown,
    inProcess: breakdown || values['in-process'] === true,
    scalingSizes: list(values['scaling-sizes'], scaling.sizes, 'scaling-sizes'),
    scalingConcurrency: list(values['scaling-concurrency'], scaling.concurrency, 'scaling-concurrency'),
    ...counts
  }
}

/** A comma-separated list of whole numbers ≥ 1 (empty: none), or `fallback` when the flag is absent. */
function list (raw: unknown, fallback: number[], flag: string): number[] {
  if (typeof raw !== 'string') return fallback
  const items = raw.split(',').map(x => x.trim()).filter(x => x !== '')
  return items.map(x => {
    const n = Number(x)
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} takes whole numbers ≥ 1 separated by commas, not "${raw}"`)
    return n
  })
}
