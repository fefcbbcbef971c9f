import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { importBytes } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import {
  CID, IpldError, IpldErrorCode, isIpldMap, parseInstruction, parseWorkflow, toDagJson, type Ipld, type IpldMap
} from '../ipld/index.js'
import { UNIXFS_CHUNK_SIZE_BYTES, UNIXFS_MAX_CHILDREN } from '../store/index.js'
import { CliError, CliErrorCode, ExitCode } from './errors.js'

/**
 * The authoring form of a workflow: tasks have names, `{"await/ok": "name"}` refers to another
 * task by name, and `wasm` may be a local file. It compiles to Homestar's workflow JSON:
 *
 *   {"name": "demo", "tasks": [
 *     {"name": "one", "wasm": "math.wasm", "func": "add_one", "args": [1]},
 *     {"name": "two", "wasm": "math.wasm", "func": "double", "args": [{"await/ok": "one"}]},
 *     {"name": "nap", "sleep": {"duration_ms": 1000, "value": {"await/ok": "two"}}}]}
 */
export interface CompiledWorkflow {
  /** Homestar's workflow JSON. */
  text: string
  workflow: string
  /** The run's name, when the file gives one. */
  name?: string
  tasks: Array<{ name: string, instruction: string, ran: string }>
  /** Local Wasm files the tasks name, with their CIDs (`ipvm add` gives the same). */
  files: Array<{ path: string, cid: string }>
}

export const NONCE_FORMS = '"" (none), a lowercase base32hex string of 12 or 16 bytes (e.g. "' + '041061050o3gg28a1c60' + '"), or {"/": {"bytes": "<base64 of 12 or 16 bytes>"}}'

const TASK_KEYS = new Set(['name', 'wasm', 'func', 'args', 'sleep', 'nonce', 'nnc', 'meta'])
const AWAIT_KEYS = ['await/ok', 'await/error', 'await/*']
const DEFAULT_META: IpldMap = {}

/** True when `value` is in the authoring form: a `tasks` list whose tasks have no `run`. */
export function isAuthoringForm (value: Ipld): boolean {
  if (!isIpldMap(value) || !Array.isArray(value.tasks)) return false
  return value.tasks.length > 0 && value.tasks.every(t => isIpldMap(t) && t.run === undefined)
}

/** The CID `ipvm add` gives a file: CIDv1, raw leaves, 256 KiB chunks, balanced layout (as `ipfs add --cid-version 1`). */
export async function fileCid (bytes: Uint8Array): Promise<CID> {
  const sink = { put: async (cid: CID): Promise<CID> => await Promise.resolve(cid) }
  const result = await importBytes(bytes, sink, {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: UNIXFS_CHUNK_SIZE_BYTES }),
    layout: balanced({ maxChildrenPerNode: UNIXFS_MAX_CHILDREN })
  })
  return result.cid
}

interface Draft { name: string, index: number, source: IpldMap, awaits: string[] }

/** Compiles an authoring-form workflow (`file` locates the Wasm files it names). */
export async function compileWorkflow (value: IpldMap, file: string): Promise<CompiledWorkflow> {
  const invalid = (message: string, hint?: string): CliError => new CliError(CliErrorCode.INVALID_WORKFLOW, `${file}: ${message}`, { exitCode: ExitCode.USAGE, ...(hint !== undefined ? { hint } : {}) })
  const drafts = new Map<string, Draft>()
  ;(value.tasks as Ipld[]).forEach((t, index) => {
    const task = t as IpldMap
    const name = task.name
    if (typeof name !== 'string' || name === '') throw invalid(`tasks[${index}] needs a "name" (a non-empty string)`)
    if (drafts.has(name)) throw invalid(`two tasks are named "${name}"`)
    const unknown = Object.keys(task).filter(k => !TASK_KEYS.has(k))
    if (unknown.length > 0) throw invalid(`task "${name}" has unknown key(s) ${unknown.map(k => `"${k}"`).join(', ')}`, `a task has ${[...TASK_KEYS].map(k => `"${k}"`).join(', ')}`)
    drafts.set(name, { name, index, source: task, awaits: [] })
  })
  for (const d of drafts.values()) {
    for (const arg of argsOf(d, invalid)) {
      const target = awaitTarget(arg)
      if (target === undefined) continue
      if (!drafts.has(target)) throw invalid(`task "${d.name}" awaits "${target}", which is no task of this workflow`, `tasks: ${[...drafts.keys()].join(', ')}`)
      d.awaits.push(target)
    }
  }
  const files = new Map<string, string>()
  const instructions = new Map<string, string>()
  const built = new Map<string, IpldMap>()
  const order = topologicalOrder([...drafts.values()], invalid)
  for (const d of order) {
    const run = await instruction(d, file, files, instructions, invalid)
    let cid: CID
    try {
      cid = parseInstruction(run).cid
    } catch (err) {
      if (err instanceof IpldError && err.code === IpldErrorCode.INVALID_NONCE) {
        throw new CliError(IpldErrorCode.INVALID_NONCE, `${file}: task "${d.name}": ${err.message}`, { exitCode: ExitCode.USAGE, hint: `a nonce is ${NONCE_FORMS}` })
      }
      throw invalid(`task "${d.name}": ${(err as Error).message}`)
    }
    instructions.set(d.name, cid.toString())
    const meta = d.source.meta ?? DEFAULT_META
    built.set(d.name, { cause: null, meta, prf: [], run })
  }
  const tasks = [...drafts.values()].map(d => built.get(d.name) as IpldMap)
  const text = toDagJson({ tasks })
  const workflow = parseWorkflow({ tasks })
  return {
    text,
    workflow: workflow.cid.toString(),
    ...(typeof value.name === 'string' ? { name: value.name } : {}),
    tasks: [...drafts.values()].map((d, i) => ({ name: d.name, instruction: instructions.get(d.name) ?? '', ran: workflow.tasks[i].ran.toString() })),
    files: [...files].map(([path, cid]) => ({ path, cid }))
  }
}

function argsOf (d: Draft, invalid: (m: string) => CliError): Ipld[] {
  if (d.source.sleep !== undefined) {
    if (!isIpldMap(d.source.sleep)) throw invalid(`task "${d.name}": "sleep" must be {"duration_ms": N} or {"until": T}, with an optional "value"`)
    return d.source.sleep.value !== undefined ? [d.source.sleep.value] : []
  }
  const args = d.source.args ?? []
  if (!Array.isArray(args)) throw invalid(`task "${d.name}": "args" must be a list`)
  return args
}

/** The task name in `{"await/ok": "name"}` (and await/error, await/*). */
function awaitTarget (arg: Ipld): string | undefined {
  if (!isIpldMap(arg)) return undefined
  const keys = Object.keys(arg)
  if (keys.length !== 1 || !AWAIT_KEYS.includes(keys[0])) return undefined
  const target = arg[keys[0]]
  return typeof target === 'string' ? target : undefined
}

function resolveAwaits (args: Ipld[], instructions: Map<string, string>): Ipld[] {
  return args.map(arg => {
    const target = awaitTarget(arg)
    if (target === undefined) return arg
    const key = Object.keys(arg as IpldMap)[0]
    return { [key]: CID.parse(instructions.get(target) ?? '') }
  })
}

async function instruction (d: Draft, file: string, files: Map<string, string>, instructions: Map<string, string>, invalid: (m: string, h?: string) => CliError): Promise<IpldMap> {
  const nnc = d.source.nonce ?? d.source.nnc ?? ''
  if (d.source.sleep !== undefined) {
    const sleep = { ...(d.source.sleep as IpldMap) }
    if (sleep.value !== undefined) sleep.value = resolveAwaits([sleep.value], instructions)[0]
    return { rsc: 'ipvm:sleep', op: 'ipvm/sleep', input: sleep, nnc }
  }
  const { wasm, func } = d.source
  if (typeof func !== 'string' || func === '') throw invalid(`task "${d.name}" needs "func" (the Wasm function) or "sleep"`)
  if (typeof wasm !== 'string' || wasm === '') throw invalid(`task "${d.name}" needs "wasm": a file next to the workflow ("math.wasm") or an ipfs:// URL`)
  let rsc = wasm
  if (!/^[a-z][a-z0-9+.-]*:/i.test(wasm)) {
    const path = resolve(dirname(file), wasm)
    let bytes: Uint8Array
    try {
      bytes = await readFile(path)
    } catch (err) {
      throw invalid(`task "${d.name}": cannot read its Wasm ${wasm} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'the path is relative to the workflow file')
    }
    const cid = (await fileCid(bytes)).toString()
    files.set(path, cid)
    rsc = `ipfs://${cid}`
  }
  const args = argsOf(d, invalid)
  return { rsc, op: 'wasm/run', input: { args: resolveAwaits(args, instructions), func }, nnc }
}

function topologicalOrder (drafts: Draft[], invalid: (m: string) => CliError): Draft[] {
  const byName = new Map(drafts.map(d => [d.name, d]))
  const state = new Map<string, 'visiting' | 'done'>()
  const out: Draft[] = []
  const visit = (d: Draft, path: string[]): void => {
    const s = state.get(d.name)
    if (s === 'done') return
    if (s === 'visiting') throw invalid(`tasks await each other in a cycle: ${[...path, d.name].join(' -> ')}`)
    state.set(d.name, 'visiting')
    for (const a of d.awaits) visit(byName.get(a) as Draft, [...path, d.name])
    state.set(d.name, 'done')
    out.push(d)
  }
  for (const d of drafts) visit(d, [])
  return out
}
