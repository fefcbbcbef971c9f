import { cidText, parseWasmRunInput, WASM_RUN_OP, type Workflow } from '../ipld/index.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { parseSleepInput, SLEEP_OP } from './sleep.js'
import { metaNumber, type PreparedTask } from './task.js'

export interface PrepareOptions {
  /** Task timeout when `meta.time` is absent. */
  defaultTimeoutMs: number
  /** Ceiling on a task's timeout, whatever it asks for. */
  maxTimeoutMs: number
  /** Wasm memory cap when `meta.memory` is absent. */
  defaultMemoryBytes: number
}

/** The operations this node runs. */
export const SUPPORTED_OPS: readonly string[] = [WASM_RUN_OP, SLEEP_OP]

/**
 * Reads every task of a workflow into what the scheduler runs: `wasm/run` calls and
 * `ipvm/sleep` waits. Throws `WORKFLOW_INVALID_UNSUPPORTED_OP` for other operations and the
 * input errors of each (`IPLD_INVALID_INPUT`, `WORKFLOW_INVALID_SLEEP_INPUT`).
 */
export function prepareTasks (workflow: Workflow, opts: PrepareOptions): PreparedTask[] {
  return workflow.tasks.map((task, index) => {
    const base = {
      index,
      task,
      instruction: task.run.cid,
      instructionString: cidText(task.run.cid),
      op: task.run.op,
      rsc: task.run.rsc,
      timeoutMs: Math.min(metaNumber(task.meta, 'time') ?? opts.defaultTimeoutMs, opts.maxTimeoutMs),
      memoryBytes: metaNumber(task.meta, 'memory') ?? opts.defaultMemoryBytes
    }
    if (task.run.op === SLEEP_OP) {
      const { value, ...when } = parseSleepInput(task.run.input, index)
      return { ...base, func: SLEEP_OP, args: value === undefined ? [] : [value], sleep: when }
    }
    if (task.run.op !== WASM_RUN_OP) {
      throw new WorkflowError(WorkflowErrorCode.UNSUPPORTED_OP, `task ${index}: operation "${task.run.op}" is not supported (this node runs ${SUPPORTED_OPS.join(' and ')})`, { task: index, op: task.run.op })
    }
    const input = parseWasmRunInput(task.run)
    return { ...base, func: input.func, args: input.args }
  })
}
