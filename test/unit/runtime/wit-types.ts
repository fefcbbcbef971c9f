import type { WitParam, WitPrimitive, WitType } from '../../../src/runtime/values/wit-types.js'

/** Small builders for WIT types in tests. */
export const prim = (kind: WitPrimitive): WitType => ({ kind })
export const list = (element: WitType): WitType => ({ kind: 'list', element })
export const option = (type: WitType): WitType => ({ kind: 'option', type })
export const tuple = (...types: WitType[]): WitType => ({ kind: 'tuple', types })
export const result = (ok?: WitType, err?: WitType): WitType =>
  ({ kind: 'result', ...(ok !== undefined ? { ok } : {}), ...(err !== undefined ? { err } : {}) })
export const record = (fields: Record<string, WitType>): WitType =>
  ({ kind: 'record', fields: Object.entries(fields).map(([name, type]) => ({ name, type })) })
export const variant = (cases: Record<string, WitType | null>): WitType =>
  ({ kind: 'variant', cases: Object.entries(cases).map(([name, type]) => (type !== null ? { name, type } : { name })) })
export const enumOf = (...cases: string[]): WitType => ({ kind: 'enum', cases })
export const flags = (...names: string[]): WitType => ({ kind: 'flags', names })
export const params = (...types: WitType[]): WitParam[] => types.map((type, i) => ({ name: `p${i}`, type }))
