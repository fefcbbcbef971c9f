import { BinaryFormatError, ByteReader, customSectionName, readSections } from './binary-reader.js'

/** A core value type, as far as calling from JS is concerned. */
export type CoreValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'ref'

export interface CoreFunctionExport {
  name: string
  params: CoreValType[]
  results: CoreValType[]
}

export interface CoreMemoryInfo {
  /** Whether memory 0 is imported (its size is then decided by the importer). */
  imported: boolean
  /** Initial size of memory 0 in 64 KiB pages. */
  initialPages: number
  memory64: boolean
}

export interface CoreModuleInfo {
  functions: CoreFunctionExport[]
  /** Module/field names of everything the module imports. */
  imports: Array<{ module: string, field: string, kind: number }>
  memory?: CoreMemoryInfo
  /** Whether a custom section carries component-type metadata (wit-bindgen output). */
  hasComponentType: boolean
}

const VALTYPES: Record<number, CoreValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' }

export function readValType (r: ByteReader): CoreValType {
  const b = r.u8()
  const known = VALTYPES[b]
  if (known !== undefined) return known
  if (b === 0x63 || b === 0x64) r.s33()
  return 'ref'
}

export function skipLimits (r: ByteReader): { min: number, memory64: boolean } {
  const flags = r.u8()
  const memory64 = (flags & 0x04) !== 0
  let min: number
  if (memory64) {
    r.skipLeb()
    min = 0 // not tracked for 64-bit memories
  } else {
    min = r.u32()
  }
  if ((flags & 0x01) !== 0) r.skipLeb()
  if ((flags & 0x08) !== 0) r.u32() // custom page size
  return { min, memory64 }
}

/** Skips an import descriptor; returns the memory limits for memories. */
export function skipImportDesc (r: ByteReader, kind: number): { min: number, memory64: boolean } | undefined {
  switch (kind) {
    case 0x00: r.u32(); return undefined // func
    case 0x01: readValType(r); skipLimits(r); return undefined // table
    case 0x02: return skipLimits(r) // memory
    case 0x03: readValType(r); r.u8(); return undefined // global
    case 0x04: r.u8(); r.u32(); return undefined // tag
    default: throw new BinaryFormatError(`unknown import kind ${kind}`)
  }
}

/** Reads function types (only plain `func` entries; GC types are reported as unsupported). */
export function readFuncTypes (r: ByteReader): Array<{ params: CoreValType[], results: CoreValType[] } | undefined> {
  return r.vec(r => {
    const form = r.u8()
    if (form !== 0x60) throw new BinaryFormatError(`unsupported type form 0x${form.toString(16)}`)
    return { params: r.vec(readValType), results: r.vec(readValType) }
  })
}

/** Reads what calling a core module's exports needs: exported functions with their types. */
export function readCoreModule (bytes: Uint8Array): CoreModuleInfo {
  const types: Array<{ params: CoreValType[], results: CoreValType[] } | undefined> = []
  const funcTypes: number[] = []
  const imports: CoreModuleInfo['imports'] = []
  const exports: Array<{ name: string, index: number }> = []
  let memory: CoreMemoryInfo | undefined
  let hasComponentType = false

  for (const section of readSections(bytes)) {
    const r = new ByteReader(bytes, section.start, section.end)
    switch (section.id) {
      case 0:
        if (customSectionName(bytes, section).startsWith('component-type')) hasComponentType = true
        break
      case 1:
        types.push(...readFuncTypes(r))
        break
      case 2:
        for (let n = r.u32(); n > 0; n--) {
          const module = r.name()
          const field = r.name()
          const kind = r.u8()
          if (kind === 0x00) {
            funcTypes.push(r.u32())
          } else {
            const limits = skipImportDesc(r, kind)
            if (kind === 0x02 && memory === undefined && limits !== undefined) {
              memory = { imported: true, initialPages: limits.min, memory64: limits.memory64 }
            }
          }
          imports.push({ module, field, kind })
        }
        break
      case 3:
        funcTypes.push(...r.vec(r => r.u32()))
        break
      case 5:
        if (memory === undefined && r.u32() > 0) {
          const limits = skipLimits(r)
          memory = { imported: false, initialPages: limits.min, memory64: limits.memory64 }
        }
        break
      case 7:
        for (let n = r.u32(); n > 0; n--) {
          const name = r.name()
          const kind = r.u8()
          const index = r.u32()
          if (kind === 0x00) exports.push({ name, index })
        }
        break
    }
  }

  const functions: CoreFunctionExport[] = []
  for (const { name, index } of exports) {
    const type = types[funcTypes[index]]
    if (type === undefined) throw new BinaryFormatError(`export ${name} has an unknown type`)
    functions.push({ name, params: type.params, results: type.results })
  }
  return { functions, imports, ...(memory !== undefined ? { memory } : {}), hasComponentType }
}
