import { BinaryFormatError, ByteReader, readSections } from '../binary/binary-reader.js'
import { readValType, skipImportDesc } from '../binary/core-module.js'
import {
  funcType, PRIMS, resolveDef, SORT_FUNC, SORT_INSTANCE, SORT_TYPE, toWit,
  type Entry, type ExportDecl, type FuncRef, type InstanceRef, type Space, type ValDef, type ValRef
} from './component-model.js'
import type { WitFunction } from './wit-types.js'

/**
 * Reads the signatures of a component's root function exports from its binary
 * (type, import, alias, canon and export sections), resolving types that come from
 * imported interfaces. `componentWit` cannot do this: it prints `use` statements
 * without the definitions they point to.
 */

export interface ComponentSignature {
  functions: WitFunction[]
  /** Names of the instances and functions the component imports (`wasi:logging/logging`...). */
  imports: string[]
}

export function readComponentSignature (bytes: Uint8Array): ComponentSignature {
  const types: Space = { entries: [] }
  const funcs: FuncRef[] = []
  const instances: InstanceRef[] = []
  const exported: Array<{ name: string, func: FuncRef }> = []
  const imports: string[] = []

  for (const section of readSections(bytes)) {
    const r = new ByteReader(bytes, section.start, section.end)
    switch (section.id) {
      case 5:
        for (let n = r.u32(); n > 0; n--) {
          const form = r.u8()
          if (form === 0x00) r.u32()
          r.vec(r => { if (form === 0x00) r.name(); else externName(r); readSortIdx(r) })
          instances.push({ unknown: true })
        }
        break
      case 6:
        for (let n = r.u32(); n > 0; n--) readTopAlias(r, types, funcs, instances)
        break
      case 7:
        for (let n = r.u32(); n > 0; n--) types.entries.push(readTypeEntry(r, types))
        break
      case 8:
        for (let n = r.u32(); n > 0; n--) readCanon(r, types, funcs)
        break
      case 10:
        for (let n = r.u32(); n > 0; n--) {
          const name = externName(r)
          const desc = readExternDesc(r, types)
          if (desc.sort === SORT_FUNC) funcs.push(desc.entry !== undefined ? { typeEntry: desc.entry } : { unknown: true })
          if (desc.sort === SORT_TYPE) types.entries.push(desc.entry ?? { t: 'unknown' })
          if (desc.sort === SORT_INSTANCE) instances.push(desc.entry !== undefined ? { typeEntry: desc.entry } : { unknown: true })
          if (desc.sort === SORT_FUNC || desc.sort === SORT_INSTANCE) imports.push(name)
        }
        break
      case 11:
        for (let n = r.u32(); n > 0; n--) {
          const name = externName(r)
          const { sort, index } = readSortIdx(r)
          const ascribed = r.u8() === 0x01 ? readExternDesc(r, types) : undefined
          if (sort === SORT_FUNC) {
            const func = ascribed?.entry !== undefined ? { typeEntry: ascribed.entry } : funcs[index] ?? { unknown: true }
            exported.push({ name, func })
            funcs.push(func)
          } else if (sort === SORT_TYPE) {
            types.entries.push({ t: 'alias', space: types, index })
          } else if (sort === SORT_INSTANCE) {
            instances.push(instances[index] ?? { unknown: true })
          }
        }
        break
    }
  }

  const functions = exported.map(({ name, func }) => {
    const def = resolveDef(funcType(func))
    if (def?.def.d !== 'func') throw new BinaryFormatError(`cannot resolve the type of export ${name}`)
    const space = def.space
    return {
      name,
      params: def.def.params.map(([pname, ref]) => ({ name: pname, type: toWit(ref, space, 0) })),
      results: def.def.results.map(ref => toWit(ref, space, 0))
    }
  })
  return { functions, imports }
}

function externName (r: ByteReader): string {
  const form = r.u8()
  if (form !== 0x00 && form !== 0x01) throw new BinaryFormatError(`unsupported extern name form ${form}`)
  return r.name()
}

function readSort (r: ByteReader): number {
  const sort = r.u8()
  if (sort === 0x00) return 0x100 | r.u8() // core sorts, never compared with component sorts
  return sort
}

function readSortIdx (r: ByteReader): { sort: number, index: number } {
  return { sort: readSort(r), index: r.u32() }
}

function valRef (r: ByteReader): ValRef {
  const v = r.s33()
  return v < 0 ? { prim: v & 0x7f } : { index: v }
}

function optValRef (r: ByteReader): ValRef | undefined {
  return r.u8() === 0x01 ? valRef(r) : undefined
}

function ancestor (space: Space, count: number): Space | undefined {
  let s: Space | undefined = space
  for (let i = 0; i < count && s !== undefined; i++) s = s.parent
  return s
}

function readTypeEntry (r: ByteReader, space: Space): Entry {
  const form = r.peek()
  if (PRIMS[form] !== undefined || form === 0x64) {
    r.u8()
    return { t: 'def', def: { d: 'val', val: { v: 'prim', prim: form } }, space }
  }
  r.u8()
  const val = (v: ValDef): Entry => ({ t: 'def', def: { d: 'val', val: v }, space })
  switch (form) {
    case 0x72: return val({ v: 'record', fields: r.vec(r => [r.name(), valRef(r)] as [string, ValRef]) })
    case 0x71: return val({
      v: 'variant',
      cases: r.vec(r => {
        const c: [string, ValRef | undefined] = [r.name(), optValRef(r)]
        if (r.u8() === 0x01) r.u32() // refines (retired)
        return c
      })
    })
    case 0x70: return val({ v: 'list', element: valRef(r) })
    case 0x6f: return val({ v: 'tuple', types: r.vec(valRef) })
    case 0x6e: return val({ v: 'flags', names: r.vec(r => r.name()) })
    case 0x6d: return val({ v: 'enum', names: r.vec(r => r.name()) })
    case 0x6c: r.vec(valRef); return val({ v: 'unsupported', name: 'union' })
    case 0x6b: return val({ v: 'option', type: valRef(r) })
    case 0x6a: {
      const ok = optValRef(r)
      const err = optValRef(r)
      return val({ v: 'result', ...(ok !== undefined ? { ok } : {}), ...(err !== undefined ? { err } : {}) })
    }
    case 0x69: r.u32(); return val({ v: 'unsupported', name: 'own' })
    case 0x68: r.u32(); return val({ v: 'unsupported', name: 'borrow' })
    case 0x67: valRef(r); r.u32(); return val({ v: 'unsupported', name: 'fixed-size list' })
    case 0x66: optValRef(r); return val({ v: 'unsupported', name: 'stream' })
    case 0x65: optValRef(r); return val({ v: 'unsupported', name: 'future' })
    case 0x40: case 0x43: {
      const params = r.vec(r => [r.name(), valRef(r)] as [string, ValRef])
      const results = r.u8() === 0x00 ? [valRef(r)] : r.vec(r => { r.name(); return valRef(r) })
      return { t: 'def', def: { d: 'func', params, results }, space }
    }
    case 0x41: case 0x42: {
      const local: Space = { entries: [], parent: space }
      const exports = readDecls(r, local)
      return { t: 'def', def: form === 0x42 ? { d: 'instance', exports } : { d: 'other' }, space: local }
    }
    case 0x3f:
      r.u8()
      if (r.u8() === 0x01) r.u32()
      return { t: 'resource' }
    default:
      throw new BinaryFormatError(`unsupported component type form 0x${form.toString(16)}`)
  }
}

/** Declarations of an instance or component type; returns the exports. */
function readDecls (r: ByteReader, local: Space): Map<string, ExportDecl> {
  const exports = new Map<string, ExportDecl>()
  for (let n = r.u32(); n > 0; n--) {
    const kind = r.u8()
    if (kind === 0x00) {
      skipCoreType(r)
    } else if (kind === 0x01) {
      local.entries.push(readTypeEntry(r, local))
    } else if (kind === 0x02) {
      const sort = readSort(r)
      const target = r.u8()
      if (target === 0x02) {
        const count = r.u32()
        const index = r.u32()
        const outer = ancestor(local, count)
        if (sort === SORT_TYPE) local.entries.push(outer !== undefined ? { t: 'alias', space: outer, index } : { t: 'unknown' })
      } else {
        if (target === 0x00 || target === 0x01) { r.u32(); r.name() }
        if (sort === SORT_TYPE) local.entries.push({ t: 'unknown' })
      }
    } else if (kind === 0x03 || kind === 0x04) {
      const name = externName(r)
      const desc = readExternDesc(r, local)
      if (desc.sort === SORT_TYPE) local.entries.push(desc.entry ?? { t: 'unknown' })
      if (kind === 0x04) exports.set(name, desc)
    } else {
      throw new BinaryFormatError(`unsupported type declaration 0x${kind.toString(16)}`)
    }
  }
  return exports
}

function readExternDesc (r: ByteReader, space: Space): ExportDecl {
  const sort = r.u8()
  switch (sort) {
    case 0x00: r.u8(); r.u32(); return { sort: 0x111 }
    case 0x01: case 0x04: case 0x05: {
      const index = r.u32()
      return { sort, entry: space.entries[index] ?? { t: 'unknown' } }
    }
    case 0x02: throw new BinaryFormatError('value imports are not supported')
    case 0x03: {
      const bound = r.u8()
      if (bound === 0x00) return { sort, entry: { t: 'alias', space, index: r.u32() } }
      return { sort, entry: { t: 'resource' } }
    }
    default: throw new BinaryFormatError(`unsupported extern kind ${sort}`)
  }
}

function skipCoreType (r: ByteReader): void {
  const form = r.u8()
  if (form === 0x60) {
    r.vec(readValType)
    r.vec(readValType)
  } else if (form === 0x50) {
    for (let n = r.u32(); n > 0; n--) {
      const kind = r.u8()
      if (kind === 0x00) { r.name(); r.name(); skipImportDesc(r, r.u8()) }
      else if (kind === 0x01) skipCoreType(r)
      else if (kind === 0x02) { r.u8(); r.u8(); r.u32(); r.u32() }
      else if (kind === 0x03) { r.name(); skipImportDesc(r, r.u8()) }
      else throw new BinaryFormatError(`unsupported module type declaration ${kind}`)
    }
  } else {
    throw new BinaryFormatError(`unsupported core type form 0x${form.toString(16)}`)
  }
}

function readTopAlias (r: ByteReader, types: Space, funcs: FuncRef[], instances: InstanceRef[]): void {
  const sort = readSort(r)
  const target = r.u8()
  if (target === 0x00) {
    const instance = instances[r.u32()] ?? { unknown: true }
    const name = r.name()
    if (sort === SORT_TYPE) types.entries.push({ t: 'inst-export', instance, name })
    if (sort === SORT_FUNC) funcs.push({ instance, name })
    if (sort === SORT_INSTANCE) instances.push({ parent: instance, name })
  } else if (target === 0x01) {
    r.u32()
    r.name()
  } else if (target === 0x02) {
    r.u32()
    r.u32()
    if (sort === SORT_TYPE) types.entries.push({ t: 'unknown' })
  } else {
    throw new BinaryFormatError(`unsupported alias target ${target}`)
  }
}

function readCanonOpts (r: ByteReader): void {
  for (let n = r.u32(); n > 0; n--) {
    const opt = r.u8()
    if ([0x03, 0x04, 0x05, 0x07, 0x08].includes(opt)) r.u32()
    else if (![0x00, 0x01, 0x02, 0x06].includes(opt)) throw new BinaryFormatError(`unsupported canonical option ${opt}`)
  }
}

function readCanon (r: ByteReader, types: Space, funcs: FuncRef[]): void {
  const op = r.u8()
  switch (op) {
    case 0x00: {
      r.u8()
      r.u32()
      readCanonOpts(r)
      const entry = types.entries[r.u32()]
      funcs.push(entry !== undefined ? { typeEntry: entry } : { unknown: true })
      return
    }
    case 0x01: r.u8(); r.u32(); readCanonOpts(r); return
    case 0x02: case 0x03: case 0x04: case 0x07: r.u32(); return
    default: throw new BinaryFormatError(`unsupported canonical function 0x${op.toString(16)}`)
  }
}
