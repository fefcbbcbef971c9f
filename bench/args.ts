import { parseArgs } from 'node:util'

/** What one bench run does; every count can be set by a flag of the same name in kebab-case. */
export interface BenchOptions {
  json: boolean
  quick: boolean
  /** Time the node's internal stages per phase (adds a little overhead). */
  breakdown: boolean
  /** Requests kept in flight in the concurrent phases. @default 32 */
  inFlight: number
  /** ws echo round trips, sequential / in flight. */
  echo: number
  echoConcurrent: number
  /** Raw WebAssembly add_one calls. */
  wasmCalls: number
  /** `health` requests, sequential / in flight. */
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

const FULL: Omit<BenchOptions, 'json' | 'quick' | 'breakdown'> = {
  inFlight: 32,
  echo: 10_000,
  echoConcurrent: 50_000,
  wasmCalls: 50_000_000,
  health: 10_000,
  healthConcurrent: 50_000,
  warmup: 20,
  oneTask: 500,
  chainLength: 10,
  chains: 100,
  concurrentChains: 1280,
  replays: 100,
  starts: 5
}

const QUICK: Omit<BenchOptions, 'json' | 'quick' | 'breakdown'> = {
  inFlight: 32,
  echo: 2000,
  echoConcurrent: 10_000,
  wasmCalls: 10_000_000,
  health: 2000,
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

function kebab (name: string): string {
  return name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
}

export const USAGE = `usage: npm run bench -- [--quick] [--json] [--breakdown] [--${COUNT_FLAGS.map(kebab).join(' N] [--')} N]

  --quick   smaller counts (about 20 s) instead of the defaults (about 1-2 min)
  --json    print one JSON object instead of the table (npm run -s keeps npm's banner off stdout)
  --breakdown  also time the node's internal stages in each phase (store writes, Wasm calls,
            notifications...); wraps private methods, adds a little overhead
defaults: ${COUNT_FLAGS.map(k => `${kebab(k)}=${FULL[k]}`).join(' ')}
quick:    ${COUNT_FLAGS.map(k => `${kebab(k)}=${QUICK[k]}`).join(' ')}`

export function parseBenchArgs (argv: string[]): BenchOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = { json: { type: 'boolean' }, quick: { type: 'boolean' }, breakdown: { type: 'boolean' }, help: { type: 'boolean' } }
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
  return { json: values.json === true, quick, breakdown: values.breakdown === true, ...counts }
}
