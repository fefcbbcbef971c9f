import { CID } from 'multiformats/cid'
import { bases } from 'multiformats/basics'
import { base58btc } from 'multiformats/bases/base58'
import { Float, type Ipld, type IpldMap } from '../../ipld/value.js'
import { RuntimeError, RuntimeErrorCode } from '../errors.js'
import { jsName, witTypeToString, type WitType } from './wit-types.js'

/**
 * WIT → IPLD for a function's output (§7.4), from the JS values jco's bindings
 * return. Homestar's quirks are kept: `"null"` becomes null, a string that parses as
 * a CID becomes a link, a non-empty `list<u8>` becomes bytes but an empty one stays `[]`.
 */
export function witToIpld (results: unknown, types: WitType[]): Ipld {
  if (types.length === 0) return null
  if (types.length === 1) return fromJs(results, types[0], 'output')
  const values = results as Record<string, unknown> | unknown[]
  const list = Array.isArray(values) ? values : Object.values(values)
  return types.map((t, i) => fromJs(list[i], t, `output[${i}]`))
}

function badOutput (message: string, path: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.BAD_OUTPUT, `${path}: ${message}`, { path })
}

/** An integer in this node's IPLD form: a number when safe, a bigint otherwise. */
export function intToIpld (v: number | bigint): number | bigint {
  if (typeof v === 'number') return v
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : v
}

/** A float64 in this node's IPLD form: whole-number floats are `Float`s. */
export function float64ToIpld (v: number): number | Float {
  return Number.isInteger(v) || Object.is(v, -0) ? new Float(v) : v
}

/** rust_decimal's largest value, 2^96 - 1 (79228162514264337593543950335), as a float64: 2^96 exactly. */
const F32_DECIMAL_MAX = 2 ** 96

/**
 * A float32 as Homestar gives it (through rust_decimal): the shortest decimal that
 * reads back as the same float32, e.g. 3883.2f32 gives 3883.2 rather than 3883.199951171875.
 */
export function float32ToIpld (v: number, path = 'output'): number | Float {
  if (!Number.isFinite(v) || Math.abs(v) > F32_DECIMAL_MAX) throw badOutput(`float32 ${v} has no decimal form`, path)
  const f = Math.fround(v)
  for (let precision = 1; precision <= 9; precision++) {
    const shortest = Number(f.toPrecision(precision))
    if (Math.fround(shortest) === f) return float64ToIpld(shortest)
  }
  return float64ToIpld(f)
}

/** Every multibase multiformats knows, by prefix. */
const MULTIBASES = new Map<string, { decode: (s: string) => Uint8Array }>(Object.values(bases).map(b => [b.prefix, b]))

function multibaseDecode (s: string): Uint8Array {
  const prefix = String.fromCodePoint(s.codePointAt(0) ?? 0)
  const base = MULTIBASES.get(prefix)
  if (base === undefined) throw new Error(`unknown multibase prefix ${prefix}`)
  return base.decode(s)
}
const IPFS_DELIMITER = '/ipfs/'

/** Longest string read as a CID: a CID with a 64-byte digest is about 80 bytes, 640 characters even in base2. */
const MAX_CID_STRING_LENGTH = 4096

/**
 * Parses a string as Rust's `Cid::try_from(&str)` does: the part after `/ipfs/` if
 * present, `Qm…` of length 46 as CIDv0, otherwise any multibase; trailing bytes are ignored.
 * Strings longer than 4096 characters are not read as CIDs.
 */
export function parseCidString (s: string): CID | undefined {
  const at = s.indexOf(IPFS_DELIMITER)
  const hash = at >= 0 ? s.slice(at + IPFS_DELIMITER.length) : s
  // longer text is no CID worth reading: base58 decoding is quadratic (a 4 MiB output held the node 1.6 s)
  if (hash.length < 2 || hash.length > MAX_CID_STRING_LENGTH) return undefined
  try {
    const bytes = hash.length === 46 && hash.startsWith('Qm')
      ? base58btc.baseDecode(hash)
      : multibaseDecode(hash)
    return CID.decodeFirst(bytes)[0]
  } catch {
    return undefined
  }
}

function stringToIpld (s: string): Ipld {
  if (s === 'null') return null
  return parseCidString(s) ?? s
}

function isTypedArray (v: unknown): v is ArrayLike<unknown> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView)
}

function fromList (v: unknown, type: Extract<WitType, { kind: 'list' }>, path: string): Ipld {
  if (!Array.isArray(v) && !isTypedArray(v)) throw badOutput(`expected a list, got ${typeof v}`, path)
  const element = type.element
  if (element.kind === 'u8') {
    if (v.length === 0) return []
    return Uint8Array.from(v as ArrayLike<number>)
  }
  const items = Array.from(v as ArrayLike<unknown>)
  if (element.kind === 'tuple' && element.types.length === 2 && element.types[0].kind === 'string') {
    const map: IpldMap = {}
    items.forEach((entry, i) => {
      const [key, value] = entry as [string, unknown]
      map[key] = fromJs(value, element.types[1], `${path}[${i}]`)
    })
    return map
  }
  return items.map((item, i) => fromJs(item, element, `${path}[${i}]`))
}

export function fromJs (v: unknown, type: WitType, path: string): Ipld {
  switch (type.kind) {
    case 'bool': return Boolean(v)
    case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': case 's64': case 'u64':
      if (typeof v !== 'number' && typeof v !== 'bigint') throw badOutput(`expected an integer, got ${typeof v}`, path)
      return intToIpld(v)
    case 'float32': return float32ToIpld(Number(v), path)
    case 'float64': return float64ToIpld(Number(v))
    case 'char': return String(v)
    case 'string': return stringToIpld(String(v))
    case 'list': return fromList(v, type, path)
    case 'tuple': {
      const items = v as unknown[]
      return type.types.map((t, i) => fromJs(items[i], t, `${path}[${i}]`))
    }
    case 'record': {
      const obj = v as Record<string, unknown>
      const map: IpldMap = {}
      for (const f of type.fields) map[f.name] = fromJs(obj[jsName(f.name)], f.type, `${path}.${f.name}`)
      return map
    }
    case 'variant': {
      const { tag, val } = v as { tag: string, val?: unknown }
      const c = type.cases.find(c => c.name === tag)
      if (c === undefined) throw badOutput(`unknown variant case ${String(tag)}`, path)
      return { [c.name]: c.type !== undefined ? fromJs(val, c.type, `${path}.${c.name}`) : null }
    }
    case 'enum': return String(v)
    case 'flags': {
      const obj = v as Record<string, boolean>
      return type.names.filter(n => obj[jsName(n)] === true)
    }
    case 'option': {
      if (type.type.kind === 'option') {
        const o = v as { tag: string, val?: unknown }
        return o.tag === 'some' ? fromJs(o.val, type.type, path) : null
      }
      return v === undefined || v === null ? null : fromJs(v, type.type, path)
    }
    case 'result': {
      const { tag, val } = v as { tag: string, val?: unknown }
      if (tag === 'ok') return type.ok !== undefined ? [fromJs(val, type.ok, `${path}[0]`), null] : [1, null]
      return type.err !== undefined ? [null, fromJs(val, type.err, `${path}[1]`)] : [null, 1]
    }
    case 'unsupported':
      throw badOutput(`values of type ${witTypeToString(type)} have no IPLD form`, path)
  }
}
