import { cidIn } from '../../ipld/index.js'
import { Float, type Ipld, type IpldMap } from '../../ipld/value.js'
import type { WitType } from './wit-types.js'
import { parseCidString } from './wit-to-ipld.js'

const INT_RANGES: Record<string, [bigint, bigint]> = {
  s8: [-(2n ** 7n), 2n ** 7n - 1n],
  u8: [0n, 2n ** 8n - 1n],
  s16: [-(2n ** 15n), 2n ** 15n - 1n],
  u16: [0n, 2n ** 16n - 1n],
  s32: [-(2n ** 31n), 2n ** 31n - 1n],
  u32: [0n, 2n ** 32n - 1n],
  s64: [-(2n ** 63n), 2n ** 63n - 1n],
  u64: [0n, 2n ** 64n - 1n]
}

function isMap (v: Ipld): v is IpldMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Float) && cidIn(v) === null
}

/**
 * Whether an IPLD value has the form a component function's result of `type` takes in a
 * receipt (what `fromJs` in wit-to-ipld.ts gives for it): an s32 is an integer in range, a
 * string a string (or a CID, or null for "null"), a record a map of exactly its fields…
 * It tells a result from a peer that this Wasm could not have returned.
 */
export function ipldFitsWit (v: Ipld, type: WitType): boolean {
  switch (type.kind) {
    case 'bool': return typeof v === 'boolean'
    case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': case 's64': case 'u64': {
      const [min, max] = INT_RANGES[type.kind]
      const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined
      return n !== undefined && n >= min && n <= max
    }
    case 'float32': case 'float64': return typeof v === 'number' || v instanceof Float
    case 'char': return typeof v === 'string' && [...v].length === 1
    case 'string': return typeof v === 'string' || v === null || cidIn(v) !== null || (typeof v === 'string' && parseCidString(v) !== undefined)
    case 'list': {
      if (type.element.kind === 'u8') return v instanceof Uint8Array || (Array.isArray(v) && v.length === 0)
      const element = type.element
      if (element.kind === 'tuple' && element.types.length === 2 && element.types[0].kind === 'string') {
        return isMap(v) && Object.values(v).every(x => ipldFitsWit(x, element.types[1]))
      }
      return Array.isArray(v) && v.every(x => ipldFitsWit(x, element))
    }
    case 'tuple': return Array.isArray(v) && v.length === type.types.length && type.types.every((t, i) => ipldFitsWit(v[i], t))
    case 'record': return isMap(v) && Object.keys(v).length === type.fields.length && type.fields.every(f => f.name in v && ipldFitsWit(v[f.name], f.type))
    case 'variant': {
      if (!isMap(v) || Object.keys(v).length !== 1) return false
      const [name, value] = Object.entries(v)[0]
      const c = type.cases.find(x => x.name === name)
      return c !== undefined && (c.type === undefined ? value === null : ipldFitsWit(value, c.type))
    }
    case 'enum': return typeof v === 'string' && type.cases.includes(v)
    case 'flags': return Array.isArray(v) && v.every(x => typeof x === 'string' && type.names.includes(x))
    case 'option': return v === null || ipldFitsWit(v, type.type)
    case 'result': {
      if (!Array.isArray(v) || v.length !== 2) return false
      const [ok, err] = v
      if (err === null) return type.ok === undefined ? ok === 1 : ipldFitsWit(ok, type.ok)
      return ok === null && (type.err === undefined ? err === 1 : ipldFitsWit(err, type.err))
    }
    case 'unsupported': return false
  }
}
