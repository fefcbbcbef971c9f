import { classifyArg, decode, isIpldMap, parseJson, parseWasmRunInput, parseWorkflow, type Arg, type Workflow } from '../ipld/index.js'

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
 * tasks it awaits. Throws the node's `IPLD_*` errors for text the node would refuse.
 */
export function planWorkflow (text: string | Uint8Array): WorkflowPlan {
  return planOf(parseWorkflow(parseJson(text)))
}

/** The plan of a workflow as the node stores it (its DAG-CBOR body). */
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
    for (const arg of args) {
      if (arg.kind !== 'await') continue
      const cid = arg.cid.toString()
      if (awaits.some(a => a.cid === cid)) continue
      awaits.push({ cid, branch: arg.branch, task: byInstruction.get(cid) ?? null })
    }
    return { index, instruction: t.run.cid.toString(), ran: t.ran.toString(), op: t.run.op, func, resource: t.run.rsc, awaits }
  })
  return { workflow: workflow.cid.toString(), tasks }
}
