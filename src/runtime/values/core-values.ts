import { Float, type Ipld } from '../../ipld/value.js'
import type { CoreFunctionExport, CoreValType } from '../binary/core-module.js'
import { RuntimeError, RuntimeErrorCode } from '../errors.js'
import { checkArgCount, exactFloat, isFloat, isInteger, toFloat32 } from './ipld-to-wit.js'
import { float32ToIpld, float64ToIpld, intToIpld } from './wit-to-ipld.js'

/**
 * Plain core modules (no component metadata). Homestar refuses them; this node calls
 * their exported functions when every parameter and result is a number type, and passes
 * only what a parameter holds exactly: i32 takes integers in [-2^31, 2^32-1], i64 integers
 * in [-2^63, 2^64-1] (unsigned values as their two's-complement bits), both also whole
 * floats (`2.0`); f64 takes floats and the integers it holds exactly, f32 the same with
 * floats rounded to the nearest float32. Anything else — a fraction for an integer, a
 * boolean, a number out of range, an extra argument — is `RUNTIME_BAD_ARGUMENT` naming
 * the argument. Results come back as IPLD integers and floats (f32 as its shortest
 * decimal); several results become a list, none gives null.
 */
export function coreArgs (args: Ipld[], fn: CoreFunctionExport): unknown[] {
  checkArgCount(args.length, fn.params.length)
  return fn.params.map((type, i) => coreArg(args[i], type, `args[${i}]`))
}

function coreArg (v: Ipld, type: CoreValType, path: string): number | bigint {
  const bad = (what: string): RuntimeError =>
    new RuntimeError(RuntimeErrorCode.BAD_ARGUMENT, `${path}: ${what} cannot be passed as ${type}`, { path, type })
  switch (type) {
    case 'i32':
    case 'i64': {
      const bits = type === 'i32' ? 32 : 64
      let big: bigint
      if (isInteger(v)) big = BigInt(v)
      else if (isFloat(v) && Number.isInteger(Number(v))) big = BigInt(Number(v))
      else if (isFloat(v)) throw bad(`${Number(v)}, not a whole number,`)
      else throw bad(describe(v))
      if (big < -(2n ** BigInt(bits - 1)) || big >= 2n ** BigInt(bits)) throw bad(`integer ${big}`)
      return type === 'i32' ? Number(BigInt.asIntN(32, big)) : BigInt.asIntN(64, big)
    }
    case 'f32':
    case 'f64': {
      const kind = type === 'f32' ? 'float32' : 'float64'
      if (isInteger(v)) return exactFloat(v, kind, path)
      if (isFloat(v)) return type === 'f32' ? toFloat32(Number(v), path) : Number(v)
      throw bad(describe(v))
    }
    default:
      throw bad('a value')
  }
}

function describe (v: Ipld): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (v instanceof Uint8Array) return 'bytes'
  return `a ${typeof v}`
}

/** Whether every parameter and result of `fn` is a number type this node can pass. */
export function isCallableCore (fn: CoreFunctionExport): boolean {
  return [...fn.params, ...fn.results].every(t => t === 'i32' || t === 'i64' || t === 'f32' || t === 'f64')
}

/** Whether an IPLD value is a number of a core value type (the form `coreResultToIpld` gives). */
export function coreValueConforms (value: Ipld, type: CoreValType): boolean {
  const n = value instanceof Float ? value.value : value
  switch (type) {
    case 'i32': return typeof n === 'number' && !(value instanceof Float) && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31
    case 'i64': return (typeof n === 'bigint' && n >= -(2n ** 63n) && n < 2n ** 63n) || (typeof n === 'number' && !(value instanceof Float) && Number.isSafeInteger(n))
    default: return typeof n === 'number'
  }
}

export function coreResultToIpld (value: unknown, fn: CoreFunctionExport): Ipld {
  if (fn.results.length === 0) return null
  if (fn.results.length === 1) return coreValue(value, fn.results[0])
  const values = value as unknown[]
  return fn.results.map((t, i) => coreValue(values[i], t))
}

function coreValue (v: unknown, type: CoreValType): Ipld {
  switch (type) {
    case 'i32': return v as number
    case 'i64': return intToIpld(v as bigint)
    case 'f32': return float32ToIpld(v as number)
    default: return float64ToIpld(v as number)
  }
}
