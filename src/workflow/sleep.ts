import { setTimeout as delay } from 'node:timers/promises'
import { classifyArg, Float, isIpldMap, type Ipld, type WasmArg } from '../ipld/index.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'

/** The built-in operation that waits, durably, for a duration or until a time. */
export const SLEEP_OP = 'ipvm/sleep'

/** The longest sleep accepted: 10 years, in milliseconds. */
export const MAX_SLEEP_MS = 10 * 365 * 24 * 3600 * 1000

/** The longest delay one Node.js timer can wait (2^31 - 1 ms); longer sleeps re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * `ipvm/sleep` input: `{"duration_ms": N}` (wait N ms from when the task starts) or
 * `{"until": T}` (wait until T, milliseconds since the Unix epoch), and optionally
 * `"value"`: any IPLD value or an await, which becomes the receipt's output, so a sleep
 * can sit in a chain (`out = ["ok", value]`, null without one).
 */
export interface SleepInput {
  durationMs?: number
  until?: number
  /** The `value` argument (an await makes the sleep wait for that task first). */
  value?: WasmArg
}

const KEYS = new Set(['duration_ms', 'until', 'value'])

/** Reads an `ipvm/sleep` input; throws `WORKFLOW_INVALID_SLEEP_INPUT` saying what is wrong. */
export function parseSleepInput (input: Ipld, task: number): SleepInput {
  const invalid = (message: string): WorkflowError => new WorkflowError(WorkflowErrorCode.INVALID_SLEEP_INPUT, `task ${task}: ${SLEEP_OP} input ${message}`, { task })
  if (!isIpldMap(input)) throw invalid('must be a map with `duration_ms` or `until`')
  const unknown = Object.keys(input).filter(k => !KEYS.has(k))
  if (unknown.length > 0) throw invalid(`has unknown key(s) ${unknown.map(k => JSON.stringify(k)).join(', ')}`)
  const duration = input.duration_ms
  const until = input.until
  if ((duration === undefined) === (until === undefined)) throw invalid('needs exactly one of `duration_ms` and `until`')
  const out: SleepInput = {}
  if (duration !== undefined) {
    const ms = wholeNumber(duration)
    if (ms === undefined || ms > MAX_SLEEP_MS) throw invalid(`\`duration_ms\` must be an integer in 0..${MAX_SLEEP_MS}`)
    out.durationMs = ms
  } else {
    const at = wholeNumber(until)
    if (at === undefined) throw invalid('`until` must be a non-negative integer (milliseconds since the Unix epoch)')
    out.until = at
  }
  if (input.value !== undefined) out.value = classifyArg(input.value)
  return out
}

/** Waits until `wakeAt` (ms since the epoch); rejects with the signal's reason when it aborts. */
export async function sleepUntil (wakeAt: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw signal.reason
    const left = wakeAt - Date.now()
    if (left <= 0) return
    try {
      await delay(Math.min(left, MAX_TIMER_MS), undefined, { signal })
    } catch {
      throw signal.reason
    }
  }
}

function wholeNumber (v: Ipld): number | undefined {
  const n = typeof v === 'bigint' ? Number(v) : v instanceof Float ? v.value : typeof v === 'number' ? v : undefined
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined
}
