import { type CID } from 'multiformats/cid'
import { cidIn, isIpldMap, type WasmArg, Float, type Ipld, type IpldMap } from '../ipld/index.js'
import { PLACEMENTS, type Placement } from './contracts.js'
import { WorkflowError, WorkflowErrorCode } from './errors.js'

/** What a task's awaited instruction produced: ok with a value, or failed with an error value. */
export interface Outcome { ok: boolean, value: Ipld }

/**
 * A task as a run keeps it while the run lasts. Its two CIDs are built when read, from bytes
 * the run's tasks share (`CidPack`): a CID object costs ~700 bytes of heap, its bytes 36, and
 * a run of 10 000 tasks kept 20 000 of them.
 */
export interface PreparedTask {
  index: number
  /** Instruction CID. */
  readonly instruction: CID
  instructionString: string
  /** Invocation CID: the `ran` of the task's receipt. */
  readonly ran: CID
  /** The task as IPLD, `{prf, run, meta, cause}`: what a peer that runs it is sent (built when read). */
  readonly ipld: IpldMap
  /** The task's `meta.placement` hint, when it names a placement. */
  placement?: Placement
  /** The operation: `wasm/run`, or `ipvm/sleep` (then `sleep` is set). */
  op: string
  /** The Wasm function, or the operation for a built-in one: the receipt's `meta.op` and the metrics label. */
  func: string
  /** The call's arguments; for a sleep, its `value` (the only thing it may await). */
  args: WasmArg[]
  /** The Wasm's URL (`ipfs://…`): the resource to fetch and the compile-cache key. */
  rsc: string
  timeoutMs: number
  memoryBytes: number
  /** When to wake, for an `ipvm/sleep` task. */
  sleep?: { durationMs?: number, until?: number }
}

/** A whole number from `meta` (integer, bigint or whole float), or undefined. */
export function metaNumber (meta: Ipld, key: string): number | undefined {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta) || meta instanceof Uint8Array || cidIn(meta) !== null || meta instanceof Float) return undefined
  const v = (meta as IpldMap)[key]
  const n = typeof v === 'bigint' ? Number(v) : v instanceof Float ? v.value : typeof v === 'number' ? v : undefined
  if (n === undefined || !Number.isFinite(n) || n <= 0) return undefined
  return Math.floor(n)
}

/** `meta.placement` of a task, when it is one of the placements. */
export function metaPlacement (meta: Ipld): Placement | undefined {
  if (!isIpldMap(meta)) return undefined
  const value = meta.placement
  return typeof value === 'string' && (PLACEMENTS as readonly string[]).includes(value) ? value as Placement : undefined
}

/**
 * The argument list passed to Wasm: awaits become the awaited output, a top-level link becomes
 * the fetched resource's bytes, `["ok", v]` literals become `v` (Homestar's rule).
 */
export function resolveArgs (args: WasmArg[], outputs: Map<string, Outcome>, resources: Map<string, Uint8Array>): Ipld[] {
  return args.map(arg => {
    if (arg.kind === 'await') {
      const key = arg.cid.toString()
      const outcome = outputs.get(key)
      if (outcome === undefined) throw new WorkflowError(WorkflowErrorCode.UNKNOWN_AWAIT, `deferred task/instruction not yet resolved or exists for promise: ${arg.branch}: ${key}`, { instruction: key })
      if (arg.branch === 'ok' && !outcome.ok) throw new WorkflowError(WorkflowErrorCode.DEPENDENCY_FAILED, `awaited task ${key} failed`, { instruction: key })
      return outcome.value
    }
    if (arg.kind === 'result') return arg.value
    const link = cidIn(arg.value)
    if (link !== null) {
      const bytes = resources.get(link.toString())
      if (bytes !== undefined) return bytes
      const out = outputs.get(link.toString())
      return out !== undefined ? out.value : link
    }
    return arg.value
  })
}

/** Top-level link arguments: resources to fetch before the task runs (Homestar's `Resource::Cid`). */
export function linkArgs (args: WasmArg[]): CID[] {
  const out: CID[] = []
  for (const arg of args) {
    if (arg.kind !== 'literal') continue
    const link = cidIn(arg.value)
    if (link !== null) out.push(link)
  }
  return out
}

/** Whether a task can run once its awaited tasks are done: `await/ok` needs a success. */
export function blockedBy (args: WasmArg[], outputs: Map<string, Outcome>): string | undefined {
  for (const arg of args) {
    if (arg.kind !== 'await' || arg.branch !== 'ok') continue
    const o = outputs.get(arg.cid.toString())
    if (o !== undefined && !o.ok) return arg.cid.toString()
  }
  return undefined
}
