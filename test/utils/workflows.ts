import { readFileSync } from 'node:fs'
import { parseJson, parseWorkflow } from '../../src/ipld/index.js'

export const FIXTURES = new URL('../fixtures/workflows/', import.meta.url)

/** The rsc and awaited instruction of Homestar's add-one fixture, which we point at our own component. */
const HOMESTAR_RSC = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'

export interface TaskJson {
  cause: null
  meta: Record<string, unknown>
  prf: []
  run: { input: { args: unknown[], func: string }, nnc: string, op: string, rsc: string }
}

export function task (rsc: string, func: string, args: unknown[], meta: Record<string, unknown> = { memory: 4294967296, time: 100000 }, nnc = ''): TaskJson {
  return { cause: null, meta, prf: [], run: { input: { args, func }, nnc, op: 'wasm/run', rsc } }
}

/** The instruction CID of a task, as other tasks await it. */
export function instructionCid (t: TaskJson): string {
  return parseWorkflow(parseJson(JSON.stringify({ tasks: [t] }))).tasks[0].run.cid.toString()
}

export function awaitOk (t: TaskJson): { 'await/ok': { '/': string } } {
  return { 'await/ok': { '/': instructionCid(t) } }
}

/** add_one applied `length` times to `start`: task i awaits task i-1. */
export function chain (rsc: string, length: number, start: number, meta?: Record<string, unknown>): { tasks: TaskJson[] } {
  const tasks: TaskJson[] = []
  for (let i = 0; i < length; i++) tasks.push(task(rsc, 'add_one', [i === 0 ? start : awaitOk(tasks[i - 1])], meta))
  return { tasks }
}

export function workflowCid (workflow: object | string): string {
  return parseWorkflow(parseJson(typeof workflow === 'string' ? workflow : JSON.stringify(workflow))).cid.toString()
}

/** Homestar's add-one-part-one fixture with its resource pointed at `rsc` (its one task is add-one's first). */
export function addOnePartOneFixture (rsc: string): string {
  const text = readFileSync(new URL('test-workflow-add-one-part-one.json', FIXTURES), 'utf8')
  const [, original] = /"rsc": "(ipfs:\/\/\w+)"/.exec(text)!
  return text.replaceAll(original, rsc)
}

/**
 * Homestar's `test-workflow-add-one.json` as text, with its resource pointed at `rsc` and the
 * await recomputed for the new first task; numbers (the 2^64 fuel float) keep their form.
 */
export function addOneFixture (rsc: string): string {
  const text = readFileSync(new URL('test-workflow-add-one.json', FIXTURES), 'utf8')
  const original = parseWorkflow(parseJson(text)).tasks[0].run.cid.toString()
  const moved = text.replaceAll(HOMESTAR_RSC, rsc)
  const first = parseWorkflow(parseJson(moved)).tasks[0].run.cid.toString()
  return moved.replaceAll(original, first)
}

/** Uploads bytes through the node's `POST /add`; resolves to `ipfs://<cid>`. */
export async function addResource (httpUrl: string, bytes: Uint8Array): Promise<string> {
  const res = await fetch(`${httpUrl}/add`, { method: 'POST', body: Buffer.from(bytes) })
  const body = await res.json() as { cid: string }
  if (res.status !== 200) throw new Error(`add failed: ${JSON.stringify(body)}`)
  return `ipfs://${body.cid}`
}
