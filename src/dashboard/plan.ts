import { classifyArg, decode, isIpldMap, parseJson, parseWasmRunInput, parseWorkflow, parseWorkflowSliced, type Arg, type Workflow } from '../ipld/index.js'
import { WorkflowError, WorkflowErrorCode } from '../workflow/index.js'
import { RpcError, RpcErrorCode, scanFrame } from '../rpc/index.js'
import { defaultConfig } from '../config/index.js'

/** What a plan request may hold: the node's own limits for a workflow it would run. */
export interface PlanLimits {
  /** @default 10000 (`workflow.max_tasks`) */
  maxTasks: number
  /** @default 64 (`rpc.max_json_depth`) */
  maxJsonDepth: number
}

export const defaultPlanLimits: PlanLimits = { maxTasks: defaultConfig.workflow.max_tasks, maxJsonDepth: defaultConfig.rpc.max_json_depth }

/** One awaited instruction of a task: its CID, the branch awaited, and the task of this workflow that has it. */
export interface PlannedAwait {
  cid: string
  branch: 'ok' | 'error' | '*'
  /** Index of the task in this workflow whose instruction this is; null when it is outside the workflow. */
  task: number | null
}

/** A task of a workflow as the dashboard draws it. */
export interface PlannedTask {
  index: number
  /** Instruction CID: what other tasks await. */
  instruction: string
  /** Invocation CID: the `ran` of this task's receipt. */
  ran: string
  op: string
  /** The Wasm function, when the input is a `wasm/run` input. */
  func: string | null
  resource: string
  awaits: PlannedAwait[]
}

/** A workflow's CIDs and task graph. */
export interface WorkflowPlan {
  workflow: string
  tasks: PlannedTask[]
}

/**
 * Reads a workflow's JSON text as the node does (numbers keep their form) and gives what a
 * browser cannot compute by itself: each task's instruction and invocation CIDs and which
 * tasks it awaits. Throws the node's `IPLD_*` errors for text the node would refuse, and,
 * before anything is parsed, `RPC_JSON_TOO_DEEP` and `WORKFLOW_TOO_LARGE` for text nested
 * deeper or holding more tasks than the node takes. Linear in the text.
 */
export function planWorkflow (text: string | Uint8Array, limits: PlanLimits = defaultPlanLimits): WorkflowPlan {
  // bytes that are not UTF-8 are refused by parseJson; the checks only count brackets
  checkPlanText(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'), limits)
  return planOf(parseWorkflow(parseJson(text)))
}

/** `planWorkflow`, with the workflow's tasks normalized in slices (`pause` between them, see `parseWorkflowSliced`). */
export async function planWorkflowSliced (text: string | Uint8Array, limits: PlanLimits, pause: () => Promise<void>): Promise<WorkflowPlan> {
  checkPlanText(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'), limits)
  const value = parseJson(text)
  await pause()
  return planOf(await parseWorkflowSliced(value, pause))
}

/** The plan of a workflow as the node stores it (its DAG-CBOR body: the node took it, so it is within the limits). */
export function planStoredWorkflow (body: Uint8Array): WorkflowPlan {
  return planOf(parseWorkflow(decode(body)))
}

function planOf (workflow: Workflow): WorkflowPlan {
  const byInstruction = new Map<string, number>()
  workflow.tasks.forEach((t, i) => { if (!byInstruction.has(t.run.cid.toString())) byInstruction.set(t.run.cid.toString(), i) })
  const tasks = workflow.tasks.map((t, index): PlannedTask => {
    let func: string | null = null
    let args: Arg[] = []
    try {
      const input = parseWasmRunInput(t.run)
      func = input.func
      args = input.args
    } catch {
      // not a wasm/run input: an ipvm/sleep's `value` may await a task; anything else the node refuses when it is run
      if (t.run.op === 'ipvm/sleep' && isIpldMap(t.run.input) && t.run.input.value !== undefined) args = [classifyArg(t.run.input.value)]
    }
    const awaits: PlannedAwait[] = []
    const seen = new Set<string>()
    for (const arg of args) {
      if (arg.kind !== 'await') continue
      const cid = arg.cid.toString()
      if (seen.has(cid)) continue
      seen.add(cid)
      awaits.push({ cid, branch: arg.branch, task: byInstruction.get(cid) ?? null })
    }
    return { index, instruction: t.run.cid.toString(), ran: t.ran.toString(), op: t.run.op, func, resource: t.run.rsc, awaits }
  })
  return { workflow: workflow.cid.toString(), tasks }
}

/** The cheap checks, on the text before it is parsed: nesting depth, then the task count. */
function checkPlanText (text: string, limits: PlanLimits): void {
  const scan = scanFrame(text, limits.maxJsonDepth)
  if (scan.kind === 'too_deep') {
    throw new RpcError(RpcErrorCode.JSON_TOO_DEEP, `the workflow nests arrays and objects deeper than rpc.max_json_depth (${limits.maxJsonDepth})`, { limit: limits.maxJsonDepth })
  }
  const tasks = scan.kind === 'message' && !scan.batch ? scan.items[0].member('tasks')?.count() : undefined
  if (tasks !== undefined && tasks > limits.maxTasks) {
    throw new WorkflowError(WorkflowErrorCode.TOO_LARGE, `the workflow has ${tasks} tasks, more than workflow.max_tasks (${limits.maxTasks})`, { limit: limits.maxTasks, tasks })
  }
}
