import { parseJson, parseWorkflow } from '../../src/ipld/index.js'
import type { IpvmClient, WorkflowRunJson as RunJson } from '../../src/client/index.js'
import { task } from './workflows.js'
import { waitUntil } from './wait.js'

/** A run as workflow_status gives it. */
export type { RunJson }

/** A task of any operation, in the workflow JSON form. */
export interface AnyTaskJson {
  cause: null
  meta: Record<string, unknown>
  prf: []
  run: { input: unknown, nnc: string, op: string, rsc: string }
}

/** The instruction CID of a task of any operation. */
export function instructionOf (t: AnyTaskJson): string {
  return parseWorkflow(parseJson(JSON.stringify({ tasks: [t] }))).tasks[0].run.cid.toString()
}

export function awaitOkOf (t: AnyTaskJson): { 'await/ok': { '/': string } } {
  return { 'await/ok': { '/': instructionOf(t) } }
}

/** An `ipvm/sleep` task of `durationMs`, passing `value` on. */
export function sleepTask (durationMs: number, value?: unknown, nnc = ''): AnyTaskJson {
  return { cause: null, meta: {}, prf: [], run: { input: { duration_ms: durationMs, ...(value !== undefined ? { value } : {}) }, nnc, op: 'ipvm/sleep', rsc: 'ipvm:sleep' } }
}

/** An `ipvm/sleep` task that wakes at `until` (ms since the epoch). */
export function sleepUntilTask (until: number, value?: unknown): AnyTaskJson {
  return { cause: null, meta: {}, prf: [], run: { input: { until, ...(value !== undefined ? { value } : {}) }, nnc: '', op: 'ipvm/sleep', rsc: 'ipvm:sleep' } }
}

/**
 * `n` add_one tasks starting from `start`, with a sleep of `sleepMs` between each two that
 * passes the previous result on: add_one, sleep, add_one, sleep, … (2n - 1 tasks).
 */
export function sleepyChain (rsc: string, n: number, start: number, sleepMs: number): { tasks: AnyTaskJson[] } {
  const tasks: AnyTaskJson[] = []
  let previous: AnyTaskJson | undefined
  for (let i = 0; i < n; i++) {
    const add: AnyTaskJson = task(rsc, 'add_one', [previous === undefined ? start : awaitOkOf(previous)])
    tasks.push(add)
    if (i === n - 1) break
    previous = sleepTask(sleepMs, awaitOkOf(add))
    tasks.push(previous)
  }
  return { tasks }
}

export async function runStatus (client: IpvmClient, cid: string): Promise<RunJson> {
  return await client.request<RunJson>('workflow_status', [cid])
}

/** Polls workflow_status until the run has one of `statuses`. */
export async function waitForStatus (client: IpvmClient, cid: string, statuses: string[], timeoutMs = 20_000): Promise<RunJson> {
  let last: RunJson | undefined
  await waitUntil(async () => {
    last = await runStatus(client, cid)
    return statuses.includes(last.status)
  }, timeoutMs, `status ${statuses.join(' or ')}`)
  return last!
}

export const delay = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
