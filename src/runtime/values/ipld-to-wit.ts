import { type CID } from 'multiformats/cid'
import { cidIn } from '../../ipld/index.js'
import { base58btc } from 'multiformats/bases/base58'
import { base32 } from 'multiformats/bases/base32'
import { Float, type Ipld, type IpldMap } from '../../ipld/value.js'
import { RuntimeError, RuntimeErrorCode } from '../errors.js'
import { INT_RANGES, isIntKind, jsName, witTypeToString, type WitIntKind, type WitParam, type WitType } from './wit-types.js'

/**
 * IPLD → WIT, following Homestar's rules (§7.3) in two steps, as wasmtime does:
 * `toVal` builds a typed value by the rules (some of which ignore the parameter
 * type: a string stays a string, a list for a scalar takes its first element...),
 * then `lower` checks the value against the parameter type (the mismatch Homestar
 * reports at the call) and builds the JS form jco's bindings expect.
 */
export type Val =
  | { kind: 'bool', value: boolean }
  | { kind: WitIntKind, value: bigint }
  | { kind: 'float32' | 'float64', value: number }
  | { kind: 'char' | 'string', value: string }
  | { kind: 'list', items: Val[] }
  | { kind: 'bytes', value: Uint8Array }
  | { kind: 'record', fields: Val[] }
  | { kind: 'tuple', items: Val[] }
  | { kind: 'variant', name: string, payload?: Val }
  | { kind: 'enum', name: string }
  | { kind: 'option', value?: Val }
  | { kind: 'result', ok: boolean, value?: Val }
  | { kind: 'flags', names: string[] }

/**
 * Converts `args` for a function with `params`. A missing argument is an error, as in
 * Homestar; unlike Homestar, so is an extra one (Homestar ignores it): nothing a task
 * passes is silently dropped.
 */
export function ipldToWitArgs (args: Ipld[], params: WitParam[]): unknown[] {
  checkArgCount(args.length, params.length)
  return params.map((param, i) => {
    // Homestar treats top-level parameters of unlisted types (bool, resources...) as untyped.
    const untyped = param.type.kind === 'bool' || param.type.kind === 'unsupported'
    const val = toVal(args[i], untyped ? undefined : param.type, `args[${i}]`)
    return lower(val, param.type, `args[${i}]`)
  })
}

function bad (message: string, data?: Record<string, unknown>): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.BAD_ARGUMENT, message, data)
}

/** Exactly as many arguments as parameters: a missing one, or an extra one, names itself. */
export function checkArgCount (given: number, expected: number): void {
  if (given === expected) return
  const path = `args[${Math.min(given, expected)}]`
  const what = given < expected ? 'is missing' : 'is one too many (the function would never see it)'
  throw bad(`${path} ${what}: the function takes ${expected} argument(s), ${given} given`, { path, expected, given })
}

/**
 * A whole number a float stands for, when the float is one and `kind` can hold it: `2.0` is
 * 2. A fraction, or a number out of range, is refused rather than truncated or saturated
 * (Rust's `as`, which Homestar uses, would do both silently).
 */
export function wholeFloat (f: number, kind: WitIntKind, path: string): bigint {
  if (!Number.isInteger(f)) throw bad(`${path}: ${f} is not a whole number, so it cannot be passed as ${kind} without losing its fraction`, { path, type: kind })
  return checkedInt(f, kind, path)
}

/** An integer as a float of `kind`, refused when the float cannot hold it exactly (above 2^24 for float32, 2^53 for float64, in general). */
export function exactFloat (v: number | bigint, kind: 'float32' | 'float64', path: string): number {
  const n = Number(v)
  const f = kind === 'float32' ? Math.fround(n) : n
  if (!Number.isFinite(f) || BigInt(f) !== BigInt(v)) throw bad(`${path}: integer ${v} cannot be passed as ${kind} exactly`, { path, type: kind })
  return f
}

/** A float as a float32: rounded to the nearest float32 (what the type means), refused when it is beyond float32's range. */
export function toFloat32 (f: number, path: string): number {
  const r = Math.fround(f)
  if (!Number.isFinite(r)) throw bad(`${path}: ${f} is beyond the range of float32`, { path, type: 'float32' })
  return r
}

export function isFloat (v: Ipld): v is number | Float {
  return v instanceof Float || (typeof v === 'number' && !Number.isInteger(v))
}

export function isInteger (v: Ipld): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))
}

export function isMap (v: Ipld): v is IpldMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) &&
    !(v instanceof Float) && cidIn(v) === null
}

/** Standard base64 alphabet without padding (Rust `Base::Base64`). */
export function base64NoPad (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '')
}

/** A link as Homestar passes it: CIDv0 in base58btc, CIDv1 in base32 lower. */
export function linkToString (cid: CID): string {
  return cid.version === 0 ? cid.toString(base58btc) : cid.toString(base32)
}

function checkedInt (v: number | bigint, kind: WitIntKind, path: string): bigint {
  const big = BigInt(v)
  const [min, max] = INT_RANGES[kind]
  if (big < min || big > max) throw bad(`${path}: integer ${big} out of range for ${kind}`, { path, type: kind })
  return big
}

/** Map keys in Rust `BTreeMap<String, _>` order (bytewise UTF-8, i.e. code point order). */
export function sortedKeys (map: IpldMap): string[] {
  return Object.keys(map).sort((a, b) => {
    const ca = Array.from(a)
    const cb = Array.from(b)
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
      const d = (ca[i].codePointAt(0) ?? 0) - (cb[i].codePointAt(0) ?? 0)
      if (d !== 0) return d
    }
    return ca.length - cb.length
  })
}

/** The rules of §7.3; `type` undefined is Homestar's untyped (`Any`) slot. */
export function toVal (v: Ipld, type: WitType | undefined, path: string): Val {
  const kind = type?.kind
  if (v === null) {
    if (kind === 'option') return { kind: 'option' }
    if (type === undefined || kind === 'string') return { kind: 'string', value: 'null' }
    throw bad(`${path}: null cannot be converted to ${witTypeToString(type)}`, { path })
  }
  if (type?.kind === 'option') return { kind: 'option', value: toVal(v, type.type, path) }
  if (type?.kind === 'result') return toResult(v, type, path)
  if (typeof v === 'boolean') {
    if (type === undefined || kind === 'bool') return { kind: 'bool', value: v }
    throw bad(`${path}: a boolean cannot be converted to ${witTypeToString(type)}`, { path })
  }
  if (isInteger(v)) {
    if (type === undefined || kind === 's64') return { kind: 's64', value: checkedInt(v, 's64', path) }
    if (kind !== undefined && isIntKind(kind)) return { kind, value: checkedInt(v, kind, path) }
    if (kind === 'float32' || kind === 'float64') return { kind, value: exactFloat(v, kind, path) }
    throw bad(`${path}: an integer cannot be converted to ${witTypeToString(type)}`, { path })
  }
  if (isFloat(v)) {
    const f = Number(v)
    if (kind === 'float32') return { kind, value: toFloat32(f, path) }
    if (type === undefined || kind === 'float64') return { kind: 'float64', value: f }
    if (kind !== undefined && isIntKind(kind)) return { kind, value: wholeFloat(f, kind, path) }
    throw bad(`${path}: a float cannot be converted to ${witTypeToString(type)}`, { path })
  }
  if (typeof v === 'string') {
    if (type?.kind === 'enum') {
      if (!type.cases.includes(v)) throw bad(`${path}: "${v}" is not a case of ${witTypeToString(type)}`, { path })
      return { kind: 'enum', name: v }
    }
    if (kind === 'char') {
      const scalars = Array.from(v)
      if (scalars.length !== 1 || /\p{Cs}/u.test(v)) throw bad(`${path}: a char must be exactly one Unicode scalar`, { path })
      return { kind: 'char', value: v }
    }
    if (type?.kind === 'list') throw bad(`${path}: a string cannot be converted to ${witTypeToString(type)}`, { path })
    return { kind: 'string', value: v }
  }
  if (v instanceof Uint8Array) {
    if (kind === 'list') return { kind: 'bytes', value: v }
    return { kind: 'string', value: base64NoPad(v) }
  }
  const cid = cidIn(v)
  if (cid !== null) return { kind: 'string', value: linkToString(cid) }
  if (Array.isArray(v)) return listToVal(v, type, path)
  return mapToVal(v as IpldMap, type, path)
}

function toResult (v: Ipld, type: Extract<WitType, { kind: 'result' }>, path: string): Val {
  if (!Array.isArray(v) || v.length !== 2) {
    throw bad(`${path}: a result must be given as a 2-element list`, { path })
  }
  const [a, b] = v
  const isOne = (x: Ipld): boolean => x === 1 || x === 1n
  if (isOne(a) && b === null && type.ok === undefined) return { kind: 'result', ok: true }
  if (a === null && isOne(b) && type.err === undefined) return { kind: 'result', ok: false }
  if (b === null && type.ok !== undefined) return { kind: 'result', ok: true, value: toVal(a, type.ok, `${path}[0]`) }
  if (a === null && type.err !== undefined) return { kind: 'result', ok: false, value: toVal(b, type.err, `${path}[1]`) }
  if (b === null) return { kind: 'result', ok: true }
  if (a === null) return { kind: 'result', ok: false }
  throw bad(`${path}: a result must be [value, null] or [null, error]`, { path })
}

function listToVal (v: Ipld[], type: WitType | undefined, path: string): Val {
  if (type?.kind === 'list') return { kind: 'list', items: v.map((x, i) => toVal(x, type.element, `${path}[${i}]`)) }
  if (type?.kind === 'tuple') {
    if (v.length > type.types.length) throw bad(`${path}[${type.types.length}]: one element too many for ${witTypeToString(type)}`, { path })
    return { kind: 'tuple', items: type.types.slice(0, v.length).map((t, i) => toVal(v[i], t, `${path}[${i}]`)) }
  }
  if (type?.kind === 'flags') {
    return {
      kind: 'flags',
      names: v.map((x, i) => {
        if (typeof x !== 'string') throw bad(`${path}[${i}]: flags must be given as a list of strings`, { path })
        return x
      })
    }
  }
  // Homestar quirk: any other type converts only the first element; an empty list is `false`.
  // Homestar drops the other elements; here a list of more than one is refused.
  if (v.length === 0) return { kind: 'bool', value: false }
  if (v.length > 1) throw bad(`${path}: a list of ${v.length} elements cannot be passed as ${type !== undefined ? witTypeToString(type) : 'an untyped parameter'}: only its first element would be`, { path })
  return toVal(v[0], type, path)
}

function mapToVal (v: IpldMap, type: WitType | undefined, path: string): Val {
  if (type?.kind === 'list') {
    const tuple = type.element
    if (tuple.kind !== 'tuple' || tuple.types.length === 0) {
      throw bad(`${path}: a map converts only to list<tuple<string, T>>, not ${witTypeToString(type)}`, { path })
    }
    // Homestar quirk: the value is converted with the tuple's first (key) type.
    return {
      kind: 'list',
      items: sortedKeys(v).map(key => ({
        kind: 'tuple',
        items: [{ kind: 'string', value: key }, toVal(v[key], tuple.types[0], `${path}.${key}`)]
      }))
    }
  }
  if (type?.kind === 'variant') {
    const keys = sortedKeys(v)
    const [name] = keys
    if (name === undefined) throw bad(`${path}: a map for a variant needs a key`, { path })
    if (keys.length > 1) throw bad(`${path}: a map for a variant has one key, the case; this one has ${keys.length} (Homestar would take "${name}" and drop the others)`, { path })
    const c = type.cases.find(c => c.name === name)
    if (c === undefined) throw bad(`${path}: "${name}" is not a case of ${witTypeToString(type)}`, { path })
    return c.type !== undefined
      ? { kind: 'variant', name, payload: toVal(v[name], c.type, `${path}.${name}`) }
      : { kind: 'variant', name }
  }
  if (type?.kind === 'record') {
    return {
      kind: 'record',
      fields: type.fields.map(f => {
        if (!Object.hasOwn(v, f.name)) throw bad(`${path}: record field "${f.name}" is missing`, { path, field: f.name })
        return toVal(v[f.name], f.type, `${path}.${f.name}`)
      })
    }
  }
  throw bad(`${path}: a map cannot be converted to ${type !== undefined ? witTypeToString(type) : 'an untyped parameter'}`, { path })
}

/** jco lifts numeric lists as typed arrays; lowering them that way avoids per-element work. */
function typedArray (kind: WitType['kind'], items: unknown[]): ArrayBufferView | unknown[] {
  switch (kind) {
    case 'u8': return Uint8Array.from(items as number[])
    case 's8': return Int8Array.from(items as number[])
    case 'u16': return Uint16Array.from(items as number[])
    case 's16': return Int16Array.from(items as number[])
    case 'u32': return Uint32Array.from(items as number[])
    case 's32': return Int32Array.from(items as number[])
    case 'u64': return BigUint64Array.from(items as bigint[])
    case 's64': return BigInt64Array.from(items as bigint[])
    case 'float32': return Float32Array.from(items as number[])
    case 'float64': return Float64Array.from(items as number[])
    default: return items
  }
}

/** Checks `val` against `type` and builds the value jco's bindings take. */
export function lower (val: Val, type: WitType, path: string): unknown {
  const mismatch = (): RuntimeError =>
    bad(`${path}: type mismatch: expected ${witTypeToString(type)}, got ${val.kind === 'bytes' ? 'list<u8>' : val.kind}`, { path })
  switch (type.kind) {
    case 'bool': case 'char': case 'string': case 'float32': case 'float64':
      if (val.kind !== type.kind) throw mismatch()
      return val.value
    case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': case 's64': case 'u64':
      if (val.kind !== type.kind) throw mismatch()
      return type.kind === 's64' || type.kind === 'u64' ? val.value : Number(val.value)
    case 'list': {
      if (val.kind === 'bytes') {
        if (type.element.kind !== 'u8') throw mismatch()
        return val.value
      }
      if (val.kind !== 'list') throw mismatch()
      return typedArray(type.element.kind, val.items.map((item, i) => lower(item, type.element, `${path}[${i}]`)))
    }
    case 'record':
      if (val.kind !== 'record') throw mismatch()
      return Object.fromEntries(type.fields.map((f, i) => [jsName(f.name), lower(val.fields[i], f.type, `${path}.${f.name}`)]))
    case 'tuple':
      if (val.kind !== 'tuple' || val.items.length !== type.types.length) throw mismatch()
      return val.items.map((item, i) => lower(item, type.types[i], `${path}[${i}]`))
    case 'variant': {
      if (val.kind !== 'variant') throw mismatch()
      const c = type.cases.find(c => c.name === val.name)
      if (c === undefined || (c.type === undefined) !== (val.payload === undefined)) throw mismatch()
      return c.type !== undefined && val.payload !== undefined
        ? { tag: c.name, val: lower(val.payload, c.type, `${path}.${c.name}`) }
        : { tag: c.name }
    }
    case 'enum':
      if (val.kind !== 'enum' || !type.cases.includes(val.name)) throw mismatch()
      return val.name
    case 'flags': {
      if (val.kind !== 'flags') throw mismatch()
      const unknown = val.names.find(n => !type.names.includes(n))
      if (unknown !== undefined) throw bad(`${path}: "${unknown}" is not a flag of ${witTypeToString(type)}`, { path })
      return Object.fromEntries(type.names.map(n => [jsName(n), val.names.includes(n)]))
    }
    case 'option': {
      if (val.kind !== 'option') throw mismatch()
      const inner = val.value !== undefined ? lower(val.value, type.type, path) : undefined
      // jco: option<T> is `T | undefined`, except when T is itself an option.
      if (type.type.kind === 'option') return val.value !== undefined ? { tag: 'some', val: inner } : { tag: 'none' }
      return inner
    }
    case 'result': {
      if (val.kind !== 'result') throw mismatch()
      const payloadType = val.ok ? type.ok : type.err
      if ((payloadType === undefined) !== (val.value === undefined)) throw mismatch()
      const payload = payloadType !== undefined && val.value !== undefined ? lower(val.value, payloadType, path) : undefined
      return { tag: val.ok ? 'ok' : 'err', val: payload }
    }
    case 'unsupported':
      throw bad(`${path}: parameters of type ${type.name} are not supported`, { path })
  }
}
