import type { CID } from 'multiformats/cid'
import { IpldError, IpldErrorCode } from './errors.js'
import { asLink, field, isIpldMap } from './kinds.js'
import type { Arg, AwaitBranch, ResultTag, WasmRunInput } from './model.js'
import type { Ipld } from './value.js'

/** The only operation Homestar executes. */
export const WASM_RUN_OP = 'wasm/run'

const RESULT_TAGS: ReadonlySet<string> = new Set(['ok', 'error', 'just'])
const AWAIT_KEYS: ReadonlySet<string> = new Set(['await/ok', 'await/error', 'await/*'])

function invalidInput (message: string, path: string): IpldError {
  return new IpldError(IpldErrorCode.INVALID_INPUT, `${path}: ${message}`, { path })
}

/**
 * Classifies one `wasm/run` argument in Homestar's order:
 * 1. `["ok"|"error"|"just", v]` is a resolved result (only `v` reaches the function);
 * 2. a map with exactly one key whose value is a link is an await: `await/ok` gives `ok`,
 *    `await/error` gives `error`, any other key gives `*` (Homestar's quirk);
 * 3. anything else is a literal (a bare link literal is a resource to fetch).
 */
export function classifyArg (value: Ipld): Arg {
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && RESULT_TAGS.has(value[0])) {
    return { kind: 'result', tag: value[0] as ResultTag, value: value[1] }
  }
  if (isIpldMap(value)) {
    const keys = Object.keys(value)
    if (keys.length === 1) {
      const cid = asLink(value[keys[0]])
      if (cid !== undefined) {
        const branch: AwaitBranch = keys[0] === 'await/ok' ? 'ok' : keys[0] === 'await/error' ? 'error' : '*'
        return { kind: 'await', branch, cid }
      }
    }
  }
  return { kind: 'literal', value }
}

/**
 * Parses the `input` of a `wasm/run` instruction: a map with `func` (the export name, a
 * string) and `args` (a list). An await map or a result list as the whole input is refused,
 * as Homestar refuses it. Throws `IPLD_INVALID_INPUT` with `data.path`.
 */
export function parseWasmRunInput (instruction: { input: Ipld }, path = 'input'): WasmRunInput {
  const input = instruction.input
  if (!isIpldMap(input) || Object.keys(input).some((key) => AWAIT_KEYS.has(key))) {
    throw invalidInput('wasm/run input must be a map with `func` and `args`', path)
  }
  const func = field(input, 'func')
  if (func === undefined) throw invalidInput('missing field `func`', path)
  const args = field(input, 'args')
  if (args === undefined) throw invalidInput('missing field `args`', path)
  if (!Array.isArray(args)) throw invalidInput('`args` must be a list', `${path}.args`)
  if (typeof func !== 'string') throw invalidInput('`func` must be a string', `${path}.func`)
  return { func, args: args.map(classifyArg) }
}

/** Top-level link arguments: content the node must fetch before the call (Homestar's `Resource::Cid`). */
export function resourceLinks (args: Arg[]): CID[] {
  const links: CID[] = []
  for (const arg of args) {
    if (arg.kind !== 'literal') continue
    const link = asLink(arg.value)
    if (link !== undefined) links.push(link)
  }
  return links
}

/** Instruction CIDs the arguments await, in argument order (duplicates kept). */
export function awaitedInstructions (args: Arg[]): CID[] {
  return args.flatMap((arg) => arg.kind === 'await' ? [arg.cid] : [])
}
