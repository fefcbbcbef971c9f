import { base32 } from 'multiformats/bases/base32'
import type { CID } from 'multiformats/cid'
import { cidOfBytes, cidText } from './cid.js'
import { cborHead, concatBytes, encode } from './codec.js'
import { IpldError, IpldErrorCode } from './errors.js'
import { asLink, field, isIpldMap } from './kinds.js'
import type { Instruction, Task, Workflow } from './model.js'
import { normalizeNonce } from './nonce.js'
import type { Ipld, IpldMap } from './value.js'

/** Message Homestar gives for a task whose `run` is a link. */
export const RUN_NOT_EXPANDED_MESSAGE = 'workflow tasks/instructions must be expanded / inlined'
/** Message Homestar gives for two tasks with the same instruction CID. */
export const DUPLICATE_TASKS_MESSAGE = 'workflow cannot contain duplicate tasks: use a nonce (nnc field) to ensure uniqueness'

function invalid (message: string, path: string): IpldError {
  return new IpldError(IpldErrorCode.INVALID_WORKFLOW, path === '' ? message : `${path}: ${message}`, { path })
}

function requireField (map: IpldMap, key: string, path: string): Ipld {
  const value = field(map, key)
  if (value === undefined) throw invalid(`missing field \`${key}\``, path)
  return value
}

/** Characters Rust's `str::trim` removes (Unicode White_Space), which differ from JavaScript's `trim`. */
function isRustWhitespace (c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0x85 || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
}

function rustTrim (s: string): string {
  let start = 0
  let end = s.length
  while (start < end && isRustWhitespace(s.charCodeAt(start))) start++
  while (end > start && isRustWhitespace(s.charCodeAt(end - 1))) end--
  return s.slice(start, end)
}

function normalizeResource (value: Ipld | undefined, path: string): string {
  let text: string
  if (typeof value === 'string') {
    text = value
  } else {
    const link = asLink(value)
    if (link === undefined) throw invalid('missing field `rsc`', path)
    if (link.version !== 1) {
      throw new IpldError(IpldErrorCode.INVALID_RESOURCE, `${path}: a CIDv0 link cannot name a resource (base32 is not allowed for v0)`, { path })
    }
    text = 'ipfs://' + link.toString(base32)
  }
  try {
    return new URL(text).href
  } catch (err) {
    throw new IpldError(IpldErrorCode.INVALID_RESOURCE, `${path}: invalid resource URL ${JSON.stringify(text)}`, { path }, { cause: err })
  }
}

interface NormalizedInstruction { instruction: Instruction, bytes: Uint8Array }

/** Normalizes an instruction map to `{op, nnc, rsc, input}` (extra keys dropped) and hashes it. */
export function parseInstruction (value: Ipld, path = 'run'): Instruction {
  return normalizeInstruction(value, path).instruction
}

function normalizeInstruction (value: Ipld, path: string): NormalizedInstruction {
  if (!isIpldMap(value)) throw invalid('an instruction must be a map or a link', path)
  const rsc = normalizeResource(field(value, 'rsc'), `${path}.rsc`)
  const rawOp = requireField(value, 'op', path)
  if (typeof rawOp !== 'string') throw invalid('`op` must be a string', `${path}.op`)
  const op = rustTrim(rawOp).toLowerCase()
  const input = requireField(value, 'input', path)
  const nnc = normalizeNonce(field(value, 'nnc'), `${path}.nnc`)
  const ipld: IpldMap = { op, nnc, rsc, input }
  const bytes = encode(ipld)
  return { instruction: { rsc, op, input, nnc, ipld, cid: cidOfBytes(bytes) }, bytes }
}

// CBOR text heads of the fixed keys, for composing task/invocation/workflow bytes without re-encoding
const KEY_PRF = encode('prf')
const KEY_RUN = encode('run')
const KEY_META = encode('meta')
const KEY_CAUSE = encode('cause')
const KEY_TASK = encode('task')
const KEY_TASKS = encode('tasks')
const MAP1 = cborHead(5, 1)
const MAP4 = cborHead(5, 4)

interface NormalizedTask {
  /** null when `run` is a link. */
  run: Instruction | null
  cause: CID | null
  meta: Ipld
  prf: CID[]
  ipld: IpldMap
  bytes: Uint8Array
}

function normalizeTask (value: Ipld, path: string): NormalizedTask {
  if (!isIpldMap(value)) throw invalid('a task must be a map', path)
  const rawPrf = requireField(value, 'prf', path)
  const prf: CID[] = []
  if (Array.isArray(rawPrf)) {
    rawPrf.forEach((item, i) => {
      const link = asLink(item)
      if (link === undefined) throw invalid('every proof must be a link', `${path}.prf[${i}]`)
      prf.push(link)
    })
  }
  const rawRun = requireField(value, 'run', path)
  const runLink = asLink(rawRun)
  const normalized = runLink === undefined ? normalizeInstruction(rawRun, `${path}.run`) : undefined
  const meta = requireField(value, 'meta', path)
  const cause = asLink(field(value, 'cause')) ?? null
  const run: Ipld = normalized?.instruction.ipld ?? (runLink as CID)
  const ipld: IpldMap = { prf, run, meta, cause }
  // canonical order of the four keys: prf, run, meta, cause (length first, then bytewise)
  const bytes = concatBytes([
    MAP4,
    KEY_PRF, encode(prf),
    KEY_RUN, normalized?.bytes ?? encode(run),
    KEY_META, encode(meta),
    KEY_CAUSE, encode(cause)
  ])
  return { run: normalized?.instruction ?? null, cause, meta, prf, ipld, bytes }
}

/**
 * Reads a workflow (`{"tasks": [...]}`, as parsed by `parseJson` or decoded from DAG-CBOR)
 * into its normalized form with every CID Homestar computes: instruction CIDs, invocation
 * (`ran`) CIDs and the workflow CID. Extra keys are dropped; `meta` is kept verbatim; a
 * non-link `cause` reads as null and a non-list `prf` as `[]` (Homestar's quirks).
 *
 * Throws `IPLD_INVALID_WORKFLOW`, `IPLD_INVALID_RESOURCE` or `IPLD_INVALID_NONCE` (with
 * `data.path`), and `IPLD_RUN_NOT_EXPANDED` when a task's `run` is a link (with
 * `data.workflow`, the workflow CID, which is still well defined).
 */
export function parseWorkflow (value: Ipld): Workflow {
  return assembleWorkflow(workflowTasks(value).map((task, i) => normalizeTask(task, `tasks[${i}]`)))
}

/**
 * `parseWorkflow`, for large workflows read where other work must go on: `pause` is awaited
 * after each task, and gives the event loop a turn when it sees fit (e.g. every few
 * milliseconds), so the work is done in slices. Same result, same errors.
 */
export async function parseWorkflowSliced (value: Ipld, pause: () => Promise<void>): Promise<Workflow> {
  const tasks = workflowTasks(value)
  return await parseWorkflowTasks(tasks.length, i => tasks[i], pause)
}

/**
 * `parseWorkflowSliced` for a workflow `{tasks}` whose `count` tasks are read one at a time
 * (`readTask(i)`, e.g. each parsed from its own part of a request's text): a task as read is
 * garbage once normalized, so the workflow as read never exists whole. Same result, same
 * errors.
 */
export async function parseWorkflowTasks (count: number, readTask: (i: number) => Ipld, pause: () => Promise<void>): Promise<Workflow> {
  const normalized: NormalizedTask[] = []
  for (let i = 0; i < count; i++) {
    normalized.push(normalizeTask(readTask(i), `tasks[${i}]`))
    await pause()
  }
  return assembleWorkflow(normalized)
}

function workflowTasks (value: Ipld): Ipld[] {
  if (!isIpldMap(value)) throw invalid('a workflow must be a map', '')
  const rawTasks = requireField(value, 'tasks', '')
  if (!Array.isArray(rawTasks)) throw invalid('`tasks` must be a list', 'tasks')
  return rawTasks
}

function assembleWorkflow (normalized: NormalizedTask[]): Workflow {
  const ipld: IpldMap = { tasks: normalized.map((t) => t.ipld) }
  const bytes = concatBytes([MAP1, KEY_TASKS, cborHead(4, normalized.length), ...normalized.map((t) => t.bytes)])
  const cid = cidOfBytes(bytes)
  const tasks: Task[] = normalized.map((t, i) => {
    if (t.run === null) {
      throw new IpldError(IpldErrorCode.RUN_NOT_EXPANDED, RUN_NOT_EXPANDED_MESSAGE, { path: `tasks[${i}].run`, workflow: cid.toString() })
    }
    const ran = cidOfBytes(concatBytes([MAP1, KEY_TASK, t.bytes]))
    return { run: t.run, cause: t.cause, meta: t.meta, prf: t.prf, ipld: t.ipld, bytes: t.bytes, ran }
  })
  return { tasks, ipld, cid, bytes }
}

/** Groups of task indexes that share an instruction CID (each group has 2+ tasks). */
export function duplicateInstructions (workflow: Workflow): Array<{ cid: CID, tasks: number[] }> {
  const byCid = new Map<string, { cid: CID, tasks: number[] }>()
  workflow.tasks.forEach((task, i) => {
    const key = cidText(task.run.cid)
    const entry = byCid.get(key)
    if (entry === undefined) byCid.set(key, { cid: task.run.cid, tasks: [i] })
    else entry.tasks.push(i)
  })
  return [...byCid.values()].filter((entry) => entry.tasks.length > 1)
}

/** Throws `IPLD_DUPLICATE_TASKS` (telling the user to add a nonce, `nnc`) when two tasks share an instruction. */
export function assertUniqueInstructions (workflow: Workflow): void {
  const duplicates = duplicateInstructions(workflow)
  if (duplicates.length > 0) {
    throw new IpldError(IpldErrorCode.DUPLICATE_TASKS, DUPLICATE_TASKS_MESSAGE, {
      workflow: workflow.cid.toString(),
      duplicates: duplicates.map((d) => ({ instruction: d.cid.toString(), tasks: d.tasks }))
    })
  }
}

/** CID of the invocation `{"task": task}` of an already normalized task map. */
export function invocationCid (taskIpld: IpldMap): CID {
  return cidOfBytes(concatBytes([MAP1, KEY_TASK, encode(taskIpld)]))
}
