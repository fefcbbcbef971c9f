import { CID } from 'multiformats/cid'
import { Float, type Ipld, type IpldMap } from './value.js'

/** The IPLD kind of a value, as libipld names its variants. */
export type IpldKind = 'null' | 'bool' | 'integer' | 'float' | 'string' | 'bytes' | 'list' | 'map' | 'link'

/**
 * `CID.asCID` that never throws and never answers a fake: multiformats takes any object whose
 * `/` entry is its `bytes` entry for a CID (and throws, or builds one that throws when printed);
 * such a map is data, not a link.
 */
export function cidIn (value: unknown): CID | null {
  try {
    const cid = CID.asCID(value)
    return cid !== null && cid.bytes instanceof Uint8Array && cid.multihash?.digest instanceof Uint8Array ? cid : null
  } catch {
    return null
  }
}

/** The link in `value`, or undefined when it is not one. */
export function asLink (value: Ipld | undefined): CID | undefined {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array || Array.isArray(value) || value instanceof Float) return undefined
  return cidIn(value) ?? undefined
}

/** True for an IPLD map (a plain object that is not a link, a Float or bytes). */
export function isIpldMap (value: Ipld | undefined): value is IpldMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array || value instanceof Float) return false
  return cidIn(value) === null
}

/** The kind of a value of the in-memory model. */
export function kindOf (value: Ipld): IpldKind {
  switch (typeof value) {
    case 'boolean': return 'bool'
    case 'string': return 'string'
    case 'bigint': return 'integer'
    case 'number': return Number.isSafeInteger(value) ? 'integer' : 'float'
    default:
      if (value === null) return 'null'
      if (value instanceof Float) return 'float'
      if (value instanceof Uint8Array) return 'bytes'
      if (Array.isArray(value)) return 'list'
      return cidIn(value) !== null ? 'link' : 'map'
  }
}

/** A map entry by own key only: `map.constructor` and friends are never found by accident. */
export function field (map: IpldMap, key: string): Ipld | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined
}

/** Sets a map entry; the key `__proto__` becomes an own entry instead of changing the prototype. */
export function setField (map: IpldMap, key: string, value: Ipld): void {
  if (key === '__proto__') {
    Object.defineProperty(map, key, { value, configurable: true, enumerable: true, writable: true })
  } else {
    map[key] = value
  }
}

/**
 * Orders strings by their UTF-8 bytes (= code point order), which is how Rust's
 * `BTreeMap<String, _>` orders map keys. JavaScript's default order (UTF-16 code units)
 * differs for characters above U+FFFF compared with U+E000..U+FFFF.
 */
export function compareUtf8 (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return remapSurrogate(x) - remapSurrogate(y)
      return x - y
    }
  }
  return a.length - b.length
}

function remapSurrogate (c: number): number {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000
  if (c >= 0xe000) return c - 0x800
  return c
}

/** Structural equality of two IPLD values (Float equals Float, links by CID, bytes by content). */
export function ipldEquals (a: Ipld, b: Ipld): boolean {
  if (a === b) return true
  const ka = kindOf(a)
  if (ka !== kindOf(b)) return false
  switch (ka) {
    case 'integer': return BigInt(a as number | bigint) === BigInt(b as number | bigint)
    case 'float': return Object.is(Number((a as Float | number).valueOf()), Number((b as Float | number).valueOf()))
    case 'bytes': return Buffer.compare(a as Uint8Array, b as Uint8Array) === 0
    case 'link': return (a as CID).equals(b)
    case 'list': {
      const la = a as Ipld[]
      const lb = b as Ipld[]
      return la.length === lb.length && la.every((v, i) => ipldEquals(v, lb[i]))
    }
    case 'map': {
      const ma = a as IpldMap
      const mb = b as IpldMap
      const keys = Object.keys(ma)
      if (keys.length !== Object.keys(mb).length) return false
      return keys.every((k) => Object.hasOwn(mb, k) && ipldEquals(ma[k], mb[k]))
    }
    default: return false
  }
}
