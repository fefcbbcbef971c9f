import type { CID } from 'multiformats/cid'
import { parseWorkflow, WASM_RUN_OP, type Ipld, type IpldMap } from '../ipld/index.js'
import { type Placement, type ReadyTask, type ResourceFetcher, type TaskRunner } from './contracts.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { prepareTasks, type PrepareOptions } from './prepare.js'
import type { RunState } from './run-state.js'
import { linkArgs, resolveArgs, type Outcome, type PreparedTask } from './task.js'

/**
 * Running one Wasm task: here, from what the run knows, or for a peer, from what it sent.
 * Both read the task the same way and resolve its arguments the same way, so a task gives
 * the same receipt wherever it runs.
 */

/**
 * Where a task's attempts go: the run's choice for that task (by instruction CID), else the
 * task's `meta.placement` hint, else the run's placement, else the node's.
 */
export function placementOf (p: PreparedTask, run: RunState, fallback: Placement): Placement {
  return run.execution.tasks?.[p.instructionString] ?? p.placement ?? run.execution.placement ?? fallback
}

/** The task as a dispatcher takes it: with the outputs of the instructions it awaits. */
export function readyTaskOf (p: PreparedTask, outputs: Map<string, Outcome>, placement: Placement, run: RunState): ReadyTask {
  const awaited = new Map<string, { instruction: CID, ok: boolean, value: Ipld }>()
  for (const arg of p.args) {
    if (arg.kind !== 'await') continue
    const key = arg.cid.toString()
    const outcome = outputs.get(key)
    if (outcome !== undefined) awaited.set(key, { instruction: arg.cid, ok: outcome.ok, value: outcome.value })
  }
  return {
    // read when the task goes to a peer: a task run here never decodes it
    task: { get ipld () { return p.ipld }, ran: p.ran },
    instruction: p.instruction,
    func: p.func,
    rsc: p.rsc,
    timeoutMs: p.timeoutMs,
    memoryBytes: p.memoryBytes,
    awaited: [...awaited.keys()].sort().map(k => awaited.get(k)!),
    placement,
    ...(run.execution.verify !== undefined ? { verify: run.execution.verify } : {}),
    signal: run.signal,
    group: run.cidString
  }
}

/** Fetches what a task needs (its Wasm, the files its link arguments name) and calls the Wasm. */
export async function runTask (c: { resources: ResourceFetcher, runner: TaskRunner }, p: PreparedTask, outputs: Map<string, Outcome>, signal: AbortSignal, group: string): Promise<Ipld> {
  const wasm = await c.resources.fetchResource(p.rsc, { signal })
  const files = new Map<string, Uint8Array>()
  for (const link of linkArgs(p.args)) {
    if (!outputs.has(link.toString())) files.set(link.toString(), await c.resources.fetchCid(link, { signal }))
  }
  const args = resolveArgs(p.args, outputs, files)
  const { output } = await c.runner.run({ key: wasm.key, wasm: wasm.bytes, func: p.func, args, timeoutMs: p.timeoutMs, memoryBytes: p.memoryBytes, signal, group })
  return output
}

/**
 * A task a peer sent to run here, read as this node reads its own (its CIDs computed here, its
 * timeout and memory under this node's limits). Throws `WORKFLOW_INVALID` when it is not a
 * `wasm/run` task or hashes to other CIDs than the peer said.
 */
export function readSentTask (taskIpld: IpldMap, expected: { instruction: CID, ran: CID }, opts: PrepareOptions): PreparedTask {
  const workflow = parseWorkflow({ tasks: [taskIpld] })
  const [p] = prepareTasks(workflow, opts)
  if (p.op !== WASM_RUN_OP) throw new WorkflowError(WorkflowErrorCode.INVALID, `only ${WASM_RUN_OP} tasks run for peers, not ${p.op}`)
  if (!p.instruction.equals(expected.instruction) || !p.ran.equals(expected.ran)) {
    throw new WorkflowError(WorkflowErrorCode.INVALID, 'the task does not hash to the instruction and invocation CIDs it was sent with')
  }
  return p
}

/** The outputs a peer sent for the instructions a task awaits, as the run would hold them. */
export function sentOutputs (awaited: Array<{ instruction: CID, ok: boolean, value: Ipld }>): Map<string, Outcome> {
  return new Map(awaited.map(a => [a.instruction.toString(), { ok: a.ok, value: a.value }]))
}
