import {
  BinaryFormatError, ByteReader, concatBytes, encodeName, encodeS32, encodeU32, readSections, type Section
} from './binary-reader.js'
import { readValType, skipImportDesc, skipLimits } from './core-module.js'
import { skipImmediates, skipPrefixedFc } from './opcodes.js'

/**
 * Rewrites a core module so that the host can (1) cap its memory per call and
 * (2) reset it to its initial state after a call. Indices of the original module
 * are unchanged: additions go at the end of their index spaces.
 *
 * Memory cap: V8 gives no way to cap a memory the module defines, and worker
 * `resourceLimits` do not cover Wasm memory. Every `memory.grow` on memory 0 becomes
 * a call to an added function that compares the new size with the mutable global
 * `__ipvm_memory_limit` (pages, set by the host before each call) and, past it, sets
 * `__ipvm_grow_failed` and traps, so the host reports a memory-limit error.
 *
 * Reset: every mutable global the module defines is exported as `__ipvm_global_<index>`
 * (and an unexported memory as `__ipvm_memory`) so the initial state can be restored.
 * The module is "resettable" when nothing else it owns can change: no table
 * mutation, no `data.drop`, no shared memory.
 */
export const LIMIT_EXPORT = '__ipvm_memory_limit'
export const FAILED_EXPORT = '__ipvm_grow_failed'
export const GLOBAL_EXPORT_PREFIX = '__ipvm_global_'
/** Export added for a defined memory the module does not export, so it can be reset. */
export const MEMORY_EXPORT = '__ipvm_memory'
/** 65536 pages = 4 GiB, the whole 32-bit address space: no cap. */
export const UNLIMITED_PAGES = 65536

export interface InstrumentResult {
  bytes: Uint8Array
  /** `memory.grow` on memory 0 is capped. */
  guarded: boolean
  /** Restoring memories and exported globals returns an instance to its initial state. */
  resettable: boolean
  /** Why the module is not guarded or not resettable, when that is worth reporting. */
  note?: string
}

interface ModuleScan {
  typeCount: number
  importedFuncs: number
  importedGlobals: number
  definedFuncs: number
  mutableGlobals: number[]
  definedGlobals: number
  exportNames: Set<string>
  hasMemory: boolean
  /** Memory 0 is defined here and not exported. */
  hiddenMemory: boolean
  sharedMemory: boolean
  grows: number
  mutatesState: boolean
}

export function instrumentModule (bytes: Uint8Array): InstrumentResult {
  try {
    const sections = readSections(bytes)
    const scan = scanModule(bytes, sections)
    const guard = scan.hasMemory && scan.grows > 0
    const resettable = !scan.sharedMemory && !scan.mutatesState
    if (!guard && scan.mutableGlobals.length === 0 && !scan.hiddenMemory) return { bytes, guarded: false, resettable }
    if ([...scan.exportNames].some(n => n.startsWith('__ipvm_'))) {
      return { bytes, guarded: false, resettable: false, note: 'already instrumented' }
    }
    return { bytes: rewrite(bytes, sections, scan, guard), guarded: guard, resettable }
  } catch (err) {
    if (err instanceof BinaryFormatError) return { bytes, guarded: false, resettable: false, note: err.message }
    throw err
  }
}

function scanModule (bytes: Uint8Array, sections: Section[]): ModuleScan {
  const scan: ModuleScan = {
    typeCount: 0, importedFuncs: 0, importedGlobals: 0, definedFuncs: 0, mutableGlobals: [], definedGlobals: 0,
    exportNames: new Set(), hasMemory: false, hiddenMemory: false, sharedMemory: false, grows: 0, mutatesState: false
  }
  let definedMemory = false
  let memoryExported = false
  const memory = (limits: { memory64: boolean, shared: boolean }): void => {
    if (scan.hasMemory) return
    if (limits.memory64) throw new BinaryFormatError('memory64 is not supported')
    scan.hasMemory = true
    scan.sharedMemory = limits.shared
  }
  for (const s of sections) {
    const r = new ByteReader(bytes, s.start, s.end)
    if (s.id === 1) {
      scan.typeCount = r.u32()
      for (let i = 0; i < scan.typeCount; i++) {
        if (r.u8() !== 0x60) throw new BinaryFormatError('GC type definitions are not supported')
        r.vec(readValType)
        r.vec(readValType)
      }
    } else if (s.id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name()
        r.name()
        const kind = r.u8()
        const flagsAt = r.pos
        const limits = skipImportDesc(r, kind)
        if (kind === 0x00) scan.importedFuncs++
        if (kind === 0x03) scan.importedGlobals++
        if (kind === 0x02 && limits !== undefined) memory({ memory64: limits.memory64, shared: (bytes[flagsAt] & 0x02) !== 0 })
      }
    } else if (s.id === 3) {
      scan.definedFuncs = r.u32()
    } else if (s.id === 5) {
      if (r.u32() > 0) {
        definedMemory = !scan.hasMemory
        const flags = bytes[r.pos]
        memory({ memory64: skipLimits(r).memory64, shared: (flags & 0x02) !== 0 })
      }
    } else if (s.id === 6) {
      scan.definedGlobals = r.u32()
      for (let i = 0; i < scan.definedGlobals; i++) {
        readValType(r)
        if (r.u8() === 0x01) scan.mutableGlobals.push(scan.importedGlobals + i)
        skipConstExpr(r)
      }
    } else if (s.id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        scan.exportNames.add(r.name())
        const kind = r.u8()
        if (r.u32() === 0 && kind === 0x02) memoryExported = true
      }
    } else if (s.id === 10) {
      scanCode(bytes, s, scan)
    }
  }
  scan.hiddenMemory = definedMemory && !memoryExported
  return scan
}

/** Counts `memory.grow 0` and looks for instructions that change tables or segments. */
function scanCode (bytes: Uint8Array, s: Section, scan: ModuleScan): void {
  const r = new ByteReader(bytes, s.start, s.end)
  for (let n = r.u32(); n > 0; n--) {
    const size = r.u32()
    const body = new ByteReader(bytes, r.pos, r.pos + size)
    for (let locals = body.u32(); locals > 0; locals--) {
      body.u32()
      readValType(body)
    }
    while (!body.eof()) {
      const op = body.u8()
      if (op === 0x40) {
        if (body.u32() === 0) scan.grows++
      } else if (op === 0xfc) {
        const sub = body.u32()
        // data.drop, table.init, elem.drop, table.copy, table.grow, table.fill
        if ([9, 12, 13, 14, 15, 17].includes(sub)) scan.mutatesState = true
        skipPrefixedFc(body, sub)
      } else {
        if (op === 0x26) scan.mutatesState = true // table.set
        skipImmediates(body, op)
      }
    }
    r.pos += size
  }
}

function skipConstExpr (r: ByteReader): void {
  for (let op = r.u8(); op !== 0x0b; op = r.u8()) skipImmediates(r, op)
}

/** Order of the known sections in a core module (custom sections may appear anywhere). */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]
const rank = (id: number): number => SECTION_ORDER.indexOf(id)

function rewrite (bytes: Uint8Array, sections: Section[], scan: ModuleScan, guard: boolean): Uint8Array {
  const helperType = scan.typeCount
  const helperFunc = scan.importedFuncs + scan.definedFuncs
  const limitGlobal = scan.importedGlobals + scan.definedGlobals
  const failedGlobal = limitGlobal + 1

  const newGlobals = guard ? [0x7f, 0x01, 0x41, ...encodeS32(UNLIMITED_PAGES), 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b] : []
  const exportEntries: number[][] = scan.mutableGlobals.map(g => [...encodeName(`${GLOBAL_EXPORT_PREFIX}${g}`), 0x03, ...encodeU32(g)])
  if (scan.hiddenMemory) exportEntries.push([...encodeName(MEMORY_EXPORT), 0x02, 0x00])
  if (guard) {
    exportEntries.push([...encodeName(LIMIT_EXPORT), 0x03, ...encodeU32(limitGlobal)])
    exportEntries.push([...encodeName(FAILED_EXPORT), 0x03, ...encodeU32(failedGlobal)])
  }
  const newExports = exportEntries.flat()
  const helperBody = [
    0x00, // no locals
    0x3f, 0x00, 0xad, // memory.size 0; i64.extend_i32_u
    0x20, 0x00, 0xad, // local.get 0; i64.extend_i32_u
    0x7c, // i64.add
    0x23, ...encodeU32(limitGlobal), 0xad, // global.get limit; i64.extend_i32_u
    0x56, // i64.gt_u
    0x04, 0x40, // if
    0x41, 0x01, 0x24, ...encodeU32(failedGlobal), // failed = 1
    0x00, // unreachable
    0x0b, // end
    0x20, 0x00, 0x40, 0x00, // memory.grow 0 (local 0)
    0x0b
  ]
  const newGlobalCount = guard ? 2 : 0

  const out: Array<Uint8Array | number[]> = [bytes.subarray(0, 8)]
  let globalsDone = newGlobalCount === 0
  let exportsDone = false
  const emit = (id: number, payload: Array<Uint8Array | number[]>): void => {
    const body = concatBytes(payload)
    out.push([id, ...encodeU32(body.length)], body)
  }
  const emitMissingBefore = (id: number): void => {
    if (!globalsDone && rank(id) > rank(6)) {
      emit(6, [encodeU32(newGlobalCount), newGlobals])
      globalsDone = true
    }
    if (!exportsDone && rank(id) > rank(7)) {
      emit(7, [encodeU32(exportEntries.length), newExports])
      exportsDone = true
    }
  }
  const rest = (s: Section): Uint8Array => {
    const r = new ByteReader(bytes, s.start, s.end)
    r.u32()
    return bytes.subarray(r.pos, s.end)
  }

  for (const s of sections) {
    if (s.id !== 0) emitMissingBefore(s.id)
    if (guard && s.id === 1) {
      emit(1, [encodeU32(scan.typeCount + 1), rest(s), [0x60, 0x01, 0x7f, 0x01, 0x7f]])
    } else if (guard && s.id === 3) {
      emit(3, [encodeU32(scan.definedFuncs + 1), rest(s), encodeU32(helperType)])
    } else if (s.id === 6) {
      emit(6, [encodeU32(scan.definedGlobals + newGlobalCount), rest(s), newGlobals])
      globalsDone = true
    } else if (s.id === 7) {
      emit(7, [encodeU32(scan.exportNames.size + exportEntries.length), rest(s), newExports])
      exportsDone = true
    } else if (guard && s.id === 10) {
      emit(10, [encodeU32(scan.definedFuncs + 1), ...rewriteGrows(bytes, s, helperFunc), encodeU32(helperBody.length), helperBody])
    } else {
      out.push(bytes.subarray(s.headerStart, s.end))
    }
  }
  emitMissingBefore(11)
  return concatBytes(out)
}

/** Re-encodes every function body, replacing `memory.grow 0` by `call helper`. */
function rewriteGrows (bytes: Uint8Array, s: Section, helperFunc: number): Uint8Array[] {
  const call = [0x10, ...encodeU32(helperFunc)]
  const bodies: Uint8Array[] = []
  let chunks: Array<Uint8Array | number[]> = []
  let copyFrom = -1
  let bodyEnd = -1
  const r = new ByteReader(bytes, s.start, s.end)
  const flush = (): void => {
    if (copyFrom < 0) return
    chunks.push(bytes.subarray(copyFrom, bodyEnd))
    const body = concatBytes(chunks)
    bodies.push(concatBytes([encodeU32(body.length), body]))
  }
  for (let n = r.u32(); n > 0; n--) {
    const size = r.u32()
    flush()
    chunks = []
    copyFrom = r.pos
    bodyEnd = r.pos + size
    const body = new ByteReader(bytes, r.pos, bodyEnd)
    for (let locals = body.u32(); locals > 0; locals--) {
      body.u32()
      readValType(body)
    }
    while (!body.eof()) {
      const at = body.pos
      const op = body.u8()
      if (op === 0x40) {
        if (body.u32() === 0) {
          chunks.push(bytes.subarray(copyFrom, at), call)
          copyFrom = body.pos
        }
      } else {
        skipImmediates(body, op)
      }
    }
    r.pos = bodyEnd
  }
  flush()
  return bodies
}
