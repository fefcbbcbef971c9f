import { SUPPORTED_IMPORTS, type ArtifactDescription } from './artifacts/artifact.js'
import type { Ipld } from '../ipld/index.js'
import { coreArgs, coreResultToIpld, coreValueConforms, isCallableCore } from './values/core-values.js'
import { RuntimeError, RuntimeErrorCode } from './errors.js'
import { lookupFunction } from './values/func-lookup.js'
import { ipldToWitArgs } from './values/ipld-to-wit.js'
import { ipldFitsWit } from './values/wit-shape.js'
import { witToIpld } from './values/wit-to-ipld.js'

/** What the main thread works out before sending a call to a worker, and how it reads the answer. */
export interface CallPlan {
  /** The export that matched (WIT name for components). */
  name: string
  exportName: string
  args: unknown[]
  returnsResult: boolean
  decode: (value: unknown) => Ipld
}

function notFound (func: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.FUNCTION_NOT_FOUND,
    `Wasm function ${func} not found in given Wasm component/resource`, { func })
}

/**
 * Whether `value` could be what `func` returns: it has the IPLD form of the component
 * function's single result type, or is a number of the core function's result type.
 * Undefined when that is not known (no such function, or not one result).
 */
export function outputConforms (description: ArtifactDescription, func: string, value: Ipld): boolean | undefined {
  const name = lookupFunction(func, description.functions.map(f => f.name))
  if (description.kind === 'component') {
    const fn = description.functions.find(f => f.name === name)
    if (fn === undefined || fn.results.length !== 1) return undefined
    return ipldFitsWit(value, fn.results[0])
  }
  const fn = description.functions.find(f => f.name === name)
  if (fn === undefined || fn.results.length !== 1) return undefined
  return coreValueConforms(value, fn.results[0])
}

/** Finds the function (§7.2) and converts the arguments (§7.3); every error here is not retryable. */
export function planCall (description: ArtifactDescription, func: string, args: Ipld[]): CallPlan {
  if (description.kind === 'component') {
    const missing = description.imports.filter(name => !SUPPORTED_IMPORTS.has(name))
    if (missing.length > 0) {
      throw new RuntimeError(RuntimeErrorCode.MISSING_IMPORT,
        `the component imports ${missing.join(', ')}, which this host does not provide`, { imports: missing })
    }
    const name = lookupFunction(func, description.functions.map(f => f.name))
    const fn = description.functions.find(f => f.name === name)
    const exportName = name !== undefined ? description.jsNames[name] : undefined
    if (fn === undefined || exportName === undefined) throw notFound(func)
    const results = fn.results
    return {
      name: fn.name,
      exportName,
      args: ipldToWitArgs(args, fn.params),
      returnsResult: results.length === 1 && results[0].kind === 'result',
      decode: value => witToIpld(value, results)
    }
  }
  if (description.imports.length > 0) {
    throw new RuntimeError(RuntimeErrorCode.MISSING_IMPORT,
      `the core module imports ${description.imports.join(', ')}; plain core modules get no imports`, { imports: description.imports })
  }
  const name = lookupFunction(func, description.functions.map(f => f.name))
  const fn = description.functions.find(f => f.name === name)
  if (fn === undefined) throw notFound(func)
  if (!isCallableCore(fn)) {
    throw new RuntimeError(RuntimeErrorCode.BAD_ARGUMENT, `core function ${fn.name} takes or returns non-numeric values`, { func })
  }
  return {
    name: fn.name,
    exportName: fn.name,
    args: coreArgs(args, fn),
    returnsResult: false,
    decode: value => coreResultToIpld(value, fn)
  }
}
