import { CORE_MODULE_NAME, type ArtifactDescription, type ComponentDescription } from './artifact.js'
import { BinaryFormatError, isComponentBinary, isCoreModuleBinary } from '../binary/binary-reader.js'
import { readComponentSignature } from '../values/component-types.js'
import { readCoreModule } from '../binary/core-module.js'
import { RuntimeError, RuntimeErrorCode } from '../errors.js'
import { instrumentModule } from '../binary/instrument.js'
import { jsName } from '../values/wit-types.js'

/**
 * Turns resource bytes into something the workers can run, as Homestar's module
 * loading does (§7.1): a component is used as is; a core module carrying
 * component-type metadata is componentized first; WAT text is parsed. A plain core
 * module is kept as a core module (Homestar would refuse it). Components are
 * transpiled once with jco; every core module is instrumented (memory cap, reset).
 * This is CPU-heavy and loads jco, so it runs in a process of its own (prepare-process.ts),
 * never in the node.
 */
export interface PreparedFiles {
  description: ArtifactDescription
  /** Core module bytes by file name, instrumented where possible. */
  files: Record<string, Uint8Array>
}

export async function prepareWasm (bytes: Uint8Array): Promise<PreparedFiles> {
  try {
    if (isComponentBinary(bytes)) return await prepareComponent(bytes)
    if (isCoreModuleBinary(bytes)) {
      if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) throw invalid('the core module does not validate')
      const info = readCoreModule(bytes)
      if (info.hasComponentType) {
        const { componentNew } = await import('@bytecodealliance/jco-transpile/wasm-tools')
        return await prepareComponent(await componentNew(bytes, []))
      }
      const result = instrumentModule(bytes)
      return {
        description: {
          kind: 'core',
          functions: info.functions,
          imports: info.imports.map(i => `${i.module}/${i.field}`),
          initialPages: info.memory?.imported === false ? info.memory.initialPages : 0,
          unguarded: result.note !== undefined ? { [CORE_MODULE_NAME]: result.note } : {},
          resettable: result.resettable
        },
        files: { [CORE_MODULE_NAME]: result.bytes }
      }
    }
    const text = decodeText(bytes)
    if (text !== undefined) {
      const { parse } = await import('@bytecodealliance/jco-transpile/wasm-tools')
      const binary = await parse(text)
      if (!isComponentBinary(binary) && !isCoreModuleBinary(binary)) throw invalid('WAT did not produce Wasm')
      return await prepareWasm(binary)
    }
    throw invalid('not a Wasm component, core module or WAT text')
  } catch (err) {
    if (err instanceof RuntimeError) throw err
    throw invalid(componentErrorMessage(err), err)
  }
}

function invalid (message: string, cause?: unknown): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.INVALID_WASM, message, undefined, { cause })
}

/** jco's wasm-tools throws `ComponentError`s whose message is the tool's own error. */
function componentErrorMessage (err: unknown): string {
  if (err instanceof BinaryFormatError) return err.message
  if (err instanceof Error) {
    const payload = (err as { payload?: unknown }).payload
    return typeof payload === 'string' ? payload : err.message
  }
  return String(err)
}

function decodeText (bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return /^(\s|;;[^\n]*(\n|$)|\(;[\s\S]*?;\))*\(/.test(text) ? text : undefined
  } catch {
    return undefined
  }
}

async function prepareComponent (bytes: Uint8Array): Promise<PreparedFiles> {
  const signature = readComponentSignature(bytes)
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile')
  const out = await transpileBytes(bytes, {
    name: 'component',
    instantiation: 'async',
    emitTypescriptDeclarations: false,
    wasiShim: false
  })
  const jsFile = out.files['component.js']
  if (jsFile === undefined) throw invalid('jco produced no bindings')
  const js = toFunctionBody(new TextDecoder().decode(jsFile))

  const exported = new Set(out.exports.filter(([, kind]) => kind === 'function').map(([name]) => name))
  const jsNames: Record<string, string> = {}
  for (const fn of signature.functions) {
    const name = jsName(fn.name)
    if (exported.has(name)) jsNames[fn.name] = name
  }

  const files: Record<string, Uint8Array> = {}
  const unguarded: Record<string, string> = {}
  const moduleNames = Object.keys(out.files).filter(name => name.endsWith('.wasm')).sort()
  let initialPages = 0
  let resettable = true
  for (const name of moduleNames) {
    const memory = readCoreModule(out.files[name]).memory
    if (memory?.imported === false) initialPages = Math.max(initialPages, memory.initialPages)
    const result = instrumentModule(out.files[name])
    files[name] = result.bytes
    resettable &&= result.resettable
    if (result.note !== undefined) unguarded[name] = result.note
  }
  const description: ComponentDescription = {
    kind: 'component',
    js,
    moduleNames,
    functions: signature.functions,
    jsNames,
    imports: out.imports,
    initialPages,
    unguarded,
    resettable
  }
  return { description, files }
}

/**
 * jco emits an ES module whose only module syntax is `export function instantiate`
 * and `export const _util`. As a function body it can be compiled with
 * `vm.compileFunction`: no module loader (and no TypeScript loader hook) involved,
 * and short stack traces. `WebAssembly.promising` (JSPI, absent on Node 20) is
 * feature-tested instead of called inside a try: the failed call re-parses the whole
 * bindings to format its TypeError and made every instantiation ~5x slower.
 */
export function toFunctionBody (source: string): string {
  const body = source
    .replace(/^export function instantiate\(/m, 'function instantiate(')
    .replace(/^export const _util\b/m, 'const _util')
    .replace(/import\.meta\.url/g, 'undefined')
    .replace(/WebAssembly\.promising\(/g, '__ipvmPromising(')
  if (/^(import|export)\s/m.test(body)) throw invalid('unexpected module syntax in the generated bindings')
  return [
    "'use strict';",
    "const __ipvmPromising = typeof WebAssembly.promising === 'function' ? WebAssembly.promising : (f) => f;",
    body,
    'return instantiate;'
  ].join('\n')
}
