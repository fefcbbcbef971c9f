import { BinaryFormatError } from '../binary/binary-reader.js'
import type { WitPrimitive, WitType } from './wit-types.js'

/**
 * The index spaces read from a component binary (see component-types.ts) and their
 * resolution into `WitType`s: aliases, `eq` type bounds, instance-type exports and
 * outer aliases are followed until a definition is reached.
 */
export type ValRef = { prim: number } | { index: number }
export interface Space { entries: Entry[], parent?: Space }
export type Entry =
  | { t: 'def', def: Def, space: Space }
  | { t: 'alias', space: Space, index: number }
  | { t: 'inst-export', instance: InstanceRef, name: string }
  | { t: 'resource' }
  | { t: 'unknown' }
export type Def =
  | { d: 'resource' }
  | { d: 'val', val: ValDef }
  | { d: 'func', params: Array<[string, ValRef]>, results: ValRef[] }
  | { d: 'instance', exports: Map<string, ExportDecl> }
  | { d: 'other' }
export type ValDef =
  | { v: 'prim', prim: number }
  | { v: 'record', fields: Array<[string, ValRef]> }
  | { v: 'variant', cases: Array<[string, ValRef | undefined]> }
  | { v: 'list', element: ValRef }
  | { v: 'tuple', types: ValRef[] }
  | { v: 'flags' | 'enum', names: string[] }
  | { v: 'option', type: ValRef }
  | { v: 'result', ok?: ValRef, err?: ValRef }
  | { v: 'unsupported', name: string }
export interface ExportDecl { sort: number, entry?: Entry }
export type InstanceRef = { typeEntry: Entry } | { parent: InstanceRef, name: string } | { unknown: true }
export type FuncRef = { typeEntry: Entry } | { instance: InstanceRef, name: string } | { unknown: true }

export const SORT_FUNC = 0x01
export const SORT_TYPE = 0x03
export const SORT_INSTANCE = 0x05

export const PRIMS: Record<number, WitPrimitive> = {
  0x7f: 'bool', 0x7e: 's8', 0x7d: 'u8', 0x7c: 's16', 0x7b: 'u16', 0x7a: 's32', 0x79: 'u32',
  0x78: 's64', 0x77: 'u64', 0x76: 'float32', 0x75: 'float64', 0x74: 'char', 0x73: 'string'
}

function instanceType (inst: InstanceRef, depth: number): { exports: Map<string, ExportDecl> } | undefined {
  if (depth > 64) return undefined
  if ('typeEntry' in inst) {
    const def = resolveDef(inst.typeEntry)
    return def?.def.d === 'instance' ? def.def : undefined
  }
  if ('parent' in inst) {
    const entry = instanceType(inst.parent, depth + 1)?.exports.get(inst.name)?.entry
    return entry !== undefined ? instanceType({ typeEntry: entry }, depth + 1) : undefined
  }
  return undefined
}

export function funcType (func: FuncRef): Entry | undefined {
  if ('typeEntry' in func) return func.typeEntry
  if ('instance' in func) return instanceType(func.instance, 0)?.exports.get(func.name)?.entry
  return undefined
}

const NO_SPACE: Space = { entries: [] }

export function resolveDef (entry: Entry | undefined, depth = 0): { def: Def, space: Space } | undefined {
  if (entry === undefined || depth > 64) return undefined
  switch (entry.t) {
    case 'def': return { def: entry.def, space: entry.space }
    case 'alias': return resolveDef(entry.space.entries[entry.index], depth + 1)
    case 'inst-export': return resolveDef(instanceType(entry.instance, depth + 1)?.exports.get(entry.name)?.entry, depth + 1)
    case 'resource': return { def: { d: 'resource' }, space: NO_SPACE }
    default: return undefined
  }
}

export function toWit (ref: ValRef, space: Space, depth: number): WitType {
  if (depth > 100) throw new BinaryFormatError('type nesting too deep')
  if ('prim' in ref) return PRIMS[ref.prim] !== undefined ? { kind: PRIMS[ref.prim] } : { kind: 'unsupported', name: 'error-context' }
  const resolved = resolveDef(space.entries[ref.index])
  if (resolved === undefined) throw new BinaryFormatError(`cannot resolve type index ${ref.index}`)
  if (resolved.def.d === 'resource') return { kind: 'unsupported', name: 'resource' }
  if (resolved.def.d !== 'val') throw new BinaryFormatError(`type index ${ref.index} is not a value type`)
  const s = resolved.space
  const sub = (r: ValRef): WitType => toWit(r, s, depth + 1)
  const v = resolved.def.val
  switch (v.v) {
    case 'prim': return toWit({ prim: v.prim }, s, depth + 1)
    case 'record': return { kind: 'record', fields: v.fields.map(([name, t]) => ({ name, type: sub(t) })) }
    case 'variant': return { kind: 'variant', cases: v.cases.map(([name, t]) => (t !== undefined ? { name, type: sub(t) } : { name })) }
    case 'list': return { kind: 'list', element: sub(v.element) }
    case 'tuple': return { kind: 'tuple', types: v.types.map(sub) }
    case 'flags': return { kind: 'flags', names: v.names }
    case 'enum': return { kind: 'enum', cases: v.names }
    case 'option': return { kind: 'option', type: sub(v.type) }
    case 'result': return { kind: 'result', ...(v.ok !== undefined ? { ok: sub(v.ok) } : {}), ...(v.err !== undefined ? { err: sub(v.err) } : {}) }
    case 'unsupported': return { kind: 'unsupported', name: v.name }
  }
}
