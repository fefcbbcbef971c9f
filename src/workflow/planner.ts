import { cidText, parseCid, type Workflow } from '../ipld/index.js'
import type { ResumeState } from './contracts.js'
import { buildDag } from './dag.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { prepareTasks, type PrepareOptions } from './prepare.js'
import { lookupReceipts, type ReceiptLookupComponents } from './receipts.js'
import type { RunInit } from './run-model.js'
import { RunState } from './run-state.js'
import type { Outcome, PreparedTask } from './task.js'

/** A run ready to execute: what `submit` builds, or what recovery reloads. */
export interface PlannedRun {
  run: RunState
  tasks: PreparedTask[]
  /** Outputs known before the run starts: the receipts of awaited instructions from outside the workflow. */
  outputs: Map<string, Outcome>
  /** Set for a run reloaded after a restart. */
  resume?: ResumeState
}

/**
 * Builds a run of a workflow: its tasks, its graph, and the receipts of the instructions it
 * awaits that are not its own tasks (from the store or peers). Throws
 * `WORKFLOW_INVALID_UNKNOWN_AWAIT` when one of those has no receipt.
 */
export async function planRun (c: ReceiptLookupComponents, opts: PrepareOptions, workflow: Workflow, name: string, init: RunInit): Promise<PlannedRun> {
  const tasks = prepareTasks(workflow, opts)
  const dag = buildDag(tasks.map(p => ({ id: p.instructionString, awaits: p.args.flatMap(a => a.kind === 'await' ? [cidText(a.cid)] : []) })))
  const run = new RunState(workflow, name, dag, init)
  const outputs = new Map<string, Outcome>()
  const found = await lookupReceipts(c, dag.external.map(ext => parseCid(ext)), run.signal)
  dag.external.forEach((ext, n) => {
    const receipt = found[n]
    if (receipt === undefined) {
      throw new WorkflowError(WorkflowErrorCode.UNKNOWN_AWAIT, `a task awaits ${ext}, which is neither a task of this workflow nor has a receipt`, { instruction: ext })
    }
    outputs.set(ext, receipt.outcome)
  })
  return { run, tasks, outputs }
}
