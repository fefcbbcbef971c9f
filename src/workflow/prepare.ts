import { cidFromBytes, cidText, decode, parseWasmRunInput, WASM_RUN_OP, type CID, type IpldMap, type WasmArg, type Workflow } from '../ipld/index.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'
import { parseSleepInput, SLEEP_OP } from './sleep.js'
import { metaNumber, metaPlacement, type PreparedTask } from './task.js'

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
  const cids = new BytesPack(workflow.tasks.flatMap(t => [t.run.cid.bytes, t.ran.bytes]))
  // a task's IPLD kept as its DAG-CBOR (~200 bytes), not as the maps and lists it was parsed
  // into (~600 bytes of heap): it is read again only when a peer is sent the task
  const ipld = new BytesPack(workflow.tasks.map(t => t.bytes))
  // tasks name the same Wasm and function: one string each, not one a task
  const strings = new Map<string, string>()
  const shared = (s: string): string => { const kept = strings.get(s); if (kept !== undefined) return kept; strings.set(s, s); return s }
  return workflow.tasks.map((task, index) => {
    const placement = metaPlacement(task.meta)
    const fields = {
      instructionString: cidText(task.run.cid),
      ...(placement !== undefined ? { placement } : {}),
      op: shared(task.run.op),
      rsc: shared(task.run.rsc),
      timeoutMs: Math.min(metaNumber(task.meta, 'time') ?? opts.defaultTimeoutMs, opts.maxTimeoutMs),
      memoryBytes: metaNumber(task.meta, 'memory') ?? opts.defaultMemoryBytes
    }
    if (task.run.op === SLEEP_OP) {
      const { value, ...when } = parseSleepInput(task.run.input, index)
      return new PackedTask(cids, ipld, index, { ...fields, func: SLEEP_OP, args: value === undefined ? [] : [value], sleep: when })
    }
    if (task.run.op !== WASM_RUN_OP) {
      throw new WorkflowError(WorkflowErrorCode.UNSUPPORTED_OP, `task ${index}: operation "${task.run.op}" is not supported (this node runs ${SUPPORTED_OPS.join(' and ')})`, { task: index, op: task.run.op })
    }
    const input = parseWasmRunInput(task.run)
    return new PackedTask(cids, ipld, index, { ...fields, func: shared(input.func), args: input.args })
  })
}

/** Byte strings of a run's tasks (their CIDs, their DAG-CBOR), one after another in one buffer. */
class BytesPack {
  private readonly bytes: Uint8Array
  private readonly ends: Uint32Array

  constructor (items: Uint8Array[]) {
    this.ends = new Uint32Array(items.length)
    let end = 0
    items.forEach((c, n) => { end += c.length; this.ends[n] = end })
    this.bytes = new Uint8Array(end)
    items.forEach((c, n) => this.bytes.set(c, this.ends[n] - c.length))
  }

  /** The `n`th, a view into the pack. */
  view (n: number): Uint8Array {
    return this.bytes.subarray(n === 0 ? 0 : this.ends[n - 1], this.ends[n])
  }

  /** The `n`th as a CID, on a copy of its bytes (so that whatever keeps it does not keep the pack). */
  cid (n: number): CID {
    return cidFromBytes(this.view(n).slice())
  }
}

/** What a prepared task holds besides its place, its two CIDs and its IPLD. */
type TaskFields = Omit<PreparedTask, 'index' | 'instruction' | 'ran' | 'ipld'>

class PackedTask implements PreparedTask {
  readonly index: number
  readonly instructionString: string
  readonly placement?: PreparedTask['placement']
  readonly op: string
  readonly func: string
  readonly args: WasmArg[]
  readonly rsc: string
  readonly timeoutMs: number
  readonly memoryBytes: number
  readonly sleep?: { durationMs?: number, until?: number }
  private readonly cids: BytesPack
  private readonly ipldPack: BytesPack

  constructor (cids: BytesPack, ipld: BytesPack, index: number, fields: TaskFields) {
    this.cids = cids
    this.ipldPack = ipld
    this.index = index
    this.instructionString = fields.instructionString
    if (fields.placement !== undefined) this.placement = fields.placement
    this.op = fields.op
    this.func = fields.func
    this.args = fields.args
    this.rsc = fields.rsc
    this.timeoutMs = fields.timeoutMs
    this.memoryBytes = fields.memoryBytes
    if (fields.sleep !== undefined) this.sleep = fields.sleep
  }

  get instruction (): CID { return this.cids.cid(2 * this.index) }
  get ran (): CID { return this.cids.cid(2 * this.index + 1) }
  get ipld (): IpldMap { return decode(this.ipldPack.view(this.index)) as IpldMap }
}
