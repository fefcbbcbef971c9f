/** Primitive WIT types. */
export type WitPrimitive =
  | 'bool' | 's8' | 'u8' | 's16' | 'u16' | 's32' | 'u32' | 's64' | 'u64'
  | 'float32' | 'float64' | 'char' | 'string'

export type WitIntKind = 's8' | 'u8' | 's16' | 'u16' | 's32' | 'u32' | 's64' | 'u64'

/** A component-model value type, resolved (no names left to look up). */
export type WitType =
  | { kind: WitPrimitive }
  | { kind: 'list', element: WitType }
  | { kind: 'record', fields: Array<{ name: string, type: WitType }> }
  | { kind: 'tuple', types: WitType[] }
  | { kind: 'variant', cases: Array<{ name: string, type?: WitType }> }
  | { kind: 'enum', cases: string[] }
  | { kind: 'flags', names: string[] }
  | { kind: 'option', type: WitType }
  | { kind: 'result', ok?: WitType, err?: WitType }
  /** Resource handles, streams, futures, error-context...: no IPLD mapping. */
  | { kind: 'unsupported', name: string }

export interface WitParam {
  name: string
  type: WitType
}

/** A function exported at the root of a component. */
export interface WitFunction {
  /** The export name, kebab-case as in WIT (`add-one`). */
  name: string
  params: WitParam[]
  /** Zero or one result (several only for the retired named-results form). */
  results: WitType[]
}

export const INT_RANGES: Record<WitIntKind, readonly [bigint, bigint]> = {
  s8: [-128n, 127n],
  u8: [0n, 255n],
  s16: [-32768n, 32767n],
  u16: [0n, 65535n],
  s32: [-2147483648n, 2147483647n],
  u32: [0n, 4294967295n],
  s64: [-9223372036854775808n, 9223372036854775807n],
  u64: [0n, 18446744073709551615n]
}

export function isIntKind (kind: string): kind is WitIntKind {
  return kind in INT_RANGES
}

/** WIT syntax of a type, for error messages. */
export function witTypeToString (type: WitType): string {
  switch (type.kind) {
    case 'list': return `list<${witTypeToString(type.element)}>`
    case 'record': return `record { ${type.fields.map(f => `${f.name}: ${witTypeToString(f.type)}`).join(', ')} }`
    case 'tuple': return `tuple<${type.types.map(witTypeToString).join(', ')}>`
    case 'variant': return `variant { ${type.cases.map(c => c.type !== undefined ? `${c.name}(${witTypeToString(c.type)})` : c.name).join(', ')} }`
    case 'enum': return `enum { ${type.cases.join(', ')} }`
    case 'flags': return `flags { ${type.names.join(', ')} }`
    case 'option': return `option<${witTypeToString(type.type)}>`
    case 'result':
      if (type.ok === undefined && type.err === undefined) return 'result'
      return `result<${type.ok !== undefined ? witTypeToString(type.ok) : '_'}${type.err !== undefined ? `, ${witTypeToString(type.err)}` : ''}>`
    case 'unsupported': return type.name
    default: return type.kind
  }
}

/**
 * The JS name jco gives a WIT name: lowerCamelCase of the kebab-case words
 * (`y-coord` → `yCoord`, `HTTP-get` → `httpGet`). Used for functions, record fields and flags.
 */
export function jsName (witName: string): string {
  return witName.split('-').filter(w => w !== '').map((w, i) => {
    const lower = w.toLowerCase()
    return i === 0 ? lower : lower.charAt(0).toUpperCase() + lower.slice(1)
  }).join('')
}
