import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'
import { IpldError, IpldErrorCode, isIpldMap, parseJson, type Ipld, type IpldMap } from '../ipld/index.js'
import { planWorkflow, type WorkflowPlan } from '../dashboard/index.js'
import { compileWorkflow, fileCid, isAuthoringForm, NONCE_FORMS } from './authoring.js'
import { CliError, CliErrorCode, ExitCode } from './errors.js'

/** A workflow file read, checked and ready to submit. */
export interface WorkflowFile {
  /** Homestar's workflow JSON, as submitted. */
  text: string
  plan: WorkflowPlan
  /** The authoring form's task names, by invocation CID (a receipt's `ran`); empty for Homestar's JSON. */
  names: Map<string, string>
  /** The run's name the file gives (authoring form). */
  name?: string
  /** Local Wasm files to add before running: named by the authoring form, or `*.wasm` beside the file whose CID a task names. */
  files: Array<{ path: string, cid: string }>
  /** The `ipfs://` CIDs tasks name that no local file provides. */
  missing: string[]
  authored: boolean
}

/** Largest workflow file read. */
const MAX_WORKFLOW_BYTES = 64 * 1024 * 1024
/** Largest `.wasm` file beside a workflow that is hashed to see whether a task names it. */
const MAX_SIBLING_WASM_BYTES = 256 * 1024 * 1024

const AUTHORING_HINT = 'a workflow is Homestar\'s JSON {"tasks": [{"run": …}]} or the authoring form {"tasks": [{"name": …, "wasm": …, "func": …, "args": […]}]} (README, "Writing a workflow")'

/**
 * Reads a workflow file: Homestar's JSON, or the authoring form (compiled to it). Checks it
 * locally, so that a file that is not a workflow fails at once with a line saying why.
 */
export async function readWorkflowFile (file: string): Promise<WorkflowFile> {
  const bytes = await readBytes(file)
  const value = parseWorkflowJson(bytes, file)
  if (isAuthoringForm(value)) {
    const compiled = await compileWorkflow(value as IpldMap, file)
    const plan = checkedPlan(compiled.text, file)
    const names = new Map(compiled.tasks.map(t => [t.ran, t.name]))
    const provided = new Set(compiled.files.map(f => f.cid))
    return { text: compiled.text, plan, names, ...(compiled.name !== undefined ? { name: compiled.name } : {}), files: compiled.files, missing: missingCids(plan, provided), authored: true }
  }
  const text = Buffer.from(bytes).toString('utf8')
  const plan = checkedPlan(text, file)
  const names = new Map<string, string>()
  const files = await siblingWasm(file, plan)
  return { text, plan, names, files, missing: missingCids(plan, new Set(files.map(f => f.cid))), authored: false }
}

async function readBytes (file: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(file)
    if (bytes.byteLength > MAX_WORKFLOW_BYTES) throw new CliError(CliErrorCode.INVALID_WORKFLOW, `${file} is ${bytes.byteLength} bytes, more than a workflow file may be (${MAX_WORKFLOW_BYTES})`, { exitCode: ExitCode.USAGE })
    return bytes
  } catch (err) {
    if (err instanceof CliError) throw err
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (err as Error).message
    throw new CliError(CliErrorCode.FILE_UNREADABLE, `cannot read ${file}: ${why}`, { exitCode: ExitCode.USAGE })
  }
}

function parseWorkflowJson (bytes: Uint8Array, file: string): Ipld {
  const text = Buffer.from(bytes).toString('utf8')
  const notJson = (why: string): CliError => new CliError(CliErrorCode.NOT_JSON, `${file} is not a JSON workflow: ${why}`, { exitCode: ExitCode.USAGE, hint: AUTHORING_HINT })
  if (text.trim() === '') throw notJson('the file is empty')
  const first = text.trimStart()[0]
  if (first !== '{') {
    if (/^(---|%YAML|[A-Za-z_-]+\s*:)/.test(text.trimStart())) throw notJson('it looks like YAML; write it as JSON')
    throw notJson(`it starts with ${JSON.stringify(first)}, not "{"`)
  }
  let value: Ipld
  try {
    value = parseJson(text)
  } catch (err) {
    if (err instanceof IpldError) {
      const at = err.data as { line?: number, column?: number } | undefined
      const where = at?.line !== undefined ? ` (line ${at.line}, column ${at.column ?? 0})` : ''
      if (err.code === IpldErrorCode.JSON_SYNTAX) throw notJson(`${err.message}${where}${/EOF|end of/i.test(err.message) ? '; is it cut short?' : ''}`)
      throw notJson(`${err.message}${where}`)
    }
    throw err
  }
  if (!isIpldMap(value) || !Array.isArray(value.tasks)) throw notJson('it has no "tasks" list')
  if (value.tasks.length === 0) throw new CliError(CliErrorCode.INVALID_WORKFLOW, `${file}: "tasks" is empty`, { exitCode: ExitCode.USAGE, hint: AUTHORING_HINT })
  return value
}

/** The node's own reading of the workflow, with errors turned into one line naming the task. */
function checkedPlan (text: string, file: string): WorkflowPlan {
  try {
    return planWorkflow(text)
  } catch (err) {
    if (err instanceof IpldError) {
      const raw = (err.data as { path?: unknown } | undefined)?.path
      const path = typeof raw === 'string' ? raw : ''
      const task = /^tasks\[(\d+)\]/.exec(path)
      const where = task !== null ? `task ${task[1]} (${path})` : path
      if (err.code === IpldErrorCode.INVALID_NONCE) {
        throw new CliError(err.code, `${file}: ${where}: ${err.message}`, { exitCode: ExitCode.USAGE, hint: `a nonce is ${NONCE_FORMS}` })
      }
      throw new CliError(err.code, `${file}: ${where === '' ? '' : `${where}: `}${err.message}`, { exitCode: ExitCode.USAGE, hint: AUTHORING_HINT })
    }
    throw err
  }
}

/** `.wasm` files in the workflow's folder whose CID a task's `rsc` names. */
async function siblingWasm (file: string, plan: WorkflowPlan): Promise<Array<{ path: string, cid: string }>> {
  const wanted = new Set(plan.tasks.map(t => cidOfIpfsUrl(t.resource)).filter((c): c is string => c !== undefined))
  if (wanted.size === 0) return []
  const dir = dirname(file)
  let names: string[]
  try {
    names = (await readdir(dir)).filter(n => extname(n) === '.wasm' && basename(n) !== '').sort()
  } catch {
    return []
  }
  const found: Array<{ path: string, cid: string }> = []
  for (const name of names) {
    const path = join(dir, name)
    try {
      const bytes = await readFile(path)
      if (bytes.byteLength > MAX_SIBLING_WASM_BYTES) continue
      const cid = (await fileCid(bytes)).toString()
      if (wanted.has(cid)) found.push({ path, cid })
    } catch {
      // unreadable: not a candidate
    }
  }
  return found
}

function missingCids (plan: WorkflowPlan, provided: Set<string>): string[] {
  const out = new Set<string>()
  for (const t of plan.tasks) {
    const cid = cidOfIpfsUrl(t.resource)
    if (cid !== undefined && !provided.has(cid)) out.add(cid)
  }
  return [...out]
}

function cidOfIpfsUrl (url: string): string | undefined {
  const m = /^ipfs:\/\/([a-z0-9]+)\/?$/i.exec(url)
  return m?.[1]
}
