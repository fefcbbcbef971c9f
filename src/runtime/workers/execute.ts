import vm from 'node:vm'
import { CORE_MODULE_NAME, type Artifact } from '../artifacts/artifact.js'
import { RuntimeError, RuntimeErrorCode, type RuntimeErrorObject } from '../errors.js'
import { hostImports, LogCollector, type HostContext, type WasmLog } from '../host.js'
import { FAILED_EXPORT, LIMIT_EXPORT } from '../binary/instrument.js'
import type { CallOutcome, CallRequest } from './protocol.js'
import { restoreSnapshot, takeSnapshot, type Snapshot } from './snapshot.js'

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: object,
  instantiateCore: (module: WebAssembly.Module, imports?: WebAssembly.Imports) => WebAssembly.Instance
) => Record<string, unknown> | Promise<Record<string, unknown>>

/** An instantiated component or core module. */
interface Live {
  exports: Record<string, unknown>
  instances: WebAssembly.Instance[]
  host: HostContext
  snapshot?: Snapshot
}

interface Loaded {
  artifact: Artifact
  instantiate?: Instantiate
  /** A live instance in its initial state, ready for the next call. */
  spare?: Live
}

export type CallResult =
  | { ok: true, outcome: CallOutcome }
  | { ok: false, error: RuntimeErrorObject, logs: WasmLog[] }

const PAGE_BYTES = 65536
/** Memory held by spare instances of a worker (their memories plus snapshots), at most. */
const SPARE_BUDGET_BYTES = 128 * 1024 * 1024

/**
 * Runs calls inside a worker. Every call sees an instance in its initial state, as
 * Homestar gives each task a fresh store: either a new instance, or one that served
 * a previous call and was restored to the snapshot taken right after it was
 * instantiated (memories and mutable globals; only for modules `binary/instrument.ts` found
 * resettable). An instance that failed in any way is dropped.
 */
export class Executor {
  private readonly loaded = new Map<string, Loaded>()

  load (key: string, artifact: Artifact): void {
    const loaded: Loaded = { artifact }
    if (artifact.description.kind === 'component') {
      try {
        // the transpiled bindings are a function body that returns jco's `instantiate`
        const bindings = vm.compileFunction(artifact.description.js, [], { filename: `component-${key}.js` }) as () => unknown
        loaded.instantiate = bindings() as Instantiate
      } catch (err) {
        throw new RuntimeError(RuntimeErrorCode.INVALID_WASM, `cannot load the component bindings: ${(err as Error).message}`)
      }
    }
    this.loaded.set(key, loaded)
  }

  forget (key: string): void {
    this.loaded.delete(key)
  }

  async run (request: CallRequest): Promise<CallResult> {
    const loaded = this.loaded.get(request.key)
    if (loaded === undefined) throw new Error(`artifact ${request.key} is not loaded`)
    // most recently used last: spares of the least recently used keys go first
    this.loaded.delete(request.key)
    this.loaded.set(request.key, loaded)
    const collector = new LogCollector()
    let live = loaded.spare
    loaded.spare = undefined
    let instances: WebAssembly.Instance[] = live?.instances ?? []
    try {
      if (live === undefined) {
        live = await instantiate(loaded, { collector, startNs: process.hrtime.bigint() }, request.memoryPages, instances)
      }
      live.host.collector = collector
      live.host.startNs = process.hrtime.bigint()
      instances = live.instances
      setMemoryLimit(instances, request.memoryPages)
      checkMemories(instances, request.memoryPages)
      const value = call(live, request)
      checkMemories(instances, request.memoryPages)
      if (live.snapshot !== undefined && restoreSnapshot(live.snapshot)) {
        loaded.spare = live
        this.trimSpares()
      }
      return { ok: true, outcome: { value, logs: collector.logs, droppedLogs: collector.dropped } }
    } catch (err) {
      const error = err instanceof RuntimeError ? err : classify(err, instances, request.memoryPages)
      return { ok: false, error: { code: error.code, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) }, logs: collector.logs }
    }
  }

  /** Drops the spares of the least recently used keys beyond the budget. */
  private trimSpares (): void {
    let total = 0
    for (const { spare } of this.loaded.values()) total += 2 * (spare?.snapshot?.size ?? 0)
    for (const entry of this.loaded.values()) {
      if (total <= SPARE_BUDGET_BYTES) return
      total -= 2 * (entry.spare?.snapshot?.size ?? 0)
      entry.spare = undefined
    }
  }
}

async function instantiate (loaded: Loaded, host: HostContext, pages: number, instances: WebAssembly.Instance[]): Promise<Live> {
  const { modules, description } = loaded.artifact
  const instantiateCore = (module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance => {
    const instance = new WebAssembly.Instance(module, imports)
    instances.push(instance)
    setMemoryLimit([instance], pages)
    return instance
  }
  let exports: Record<string, unknown>
  try {
    exports = loaded.instantiate !== undefined
      ? await loaded.instantiate(name => modules[name], hostImports(host), instantiateCore)
      : instantiateCore(modules[CORE_MODULE_NAME], {}).exports
  } catch (err) {
    throw instantiationError(err, instances, pages)
  }
  const live: Live = { exports, instances, host }
  if (description.resettable) {
    const snapshot = takeSnapshot(instances)
    if (snapshot !== undefined) live.snapshot = snapshot
  }
  return live
}

function call (live: Live, request: CallRequest): unknown {
  const fn = live.exports[request.exportName]
  if (!isCallable(fn)) {
    throw new RuntimeError(RuntimeErrorCode.FUNCTION_NOT_FOUND, `export ${request.exportName} is not a function`)
  }
  try {
    const value: unknown = fn(...request.args)
    return request.returnsResult ? { tag: 'ok', val: value } : value
  } catch (err) {
    // jco throws the `err` payload of a top-level `result` (older versions wrap it in a ComponentError).
    if (request.returnsResult && !(err instanceof Error)) return { tag: 'err', val: err }
    if (request.returnsResult && err instanceof Error && err.name === 'ComponentError' && 'payload' in err) {
      return { tag: 'err', val: (err as { payload: unknown }).payload }
    }
    throw err
  }
}

/** A Wasm export (or a component's lifted function): callable with any arguments. */
function isCallable (v: unknown): v is (...args: unknown[]) => unknown {
  return typeof v === 'function'
}

function setMemoryLimit (instances: WebAssembly.Instance[], pages: number): void {
  for (const instance of instances) {
    const limit = instance.exports[LIMIT_EXPORT]
    if (limit instanceof WebAssembly.Global) limit.value = pages
  }
}

/** Fails when a memory is above the cap (start functions, unguarded modules). */
function checkMemories (instances: WebAssembly.Instance[], pages: number): void {
  for (const instance of instances) {
    for (const memory of Object.values(instance.exports)) {
      if (memory instanceof WebAssembly.Memory && memory.buffer.byteLength > pages * PAGE_BYTES) {
        throw memoryLimit(memory.buffer.byteLength, pages)
      }
    }
  }
}

function memoryLimit (bytes: number | undefined, pages: number): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.MEMORY_LIMIT, `Wasm memory exceeds the limit of ${pages * PAGE_BYTES} bytes`,
    { limitBytes: pages * PAGE_BYTES, ...(bytes !== undefined ? { memoryBytes: bytes } : {}) })
}

/** A failure during the call: memory cap, trap, or an invalid value met while lifting the output. */
function classify (err: unknown, instances: WebAssembly.Instance[], pages: number): RuntimeError {
  const growFailed = instances.some(i => {
    const flag = i.exports[FAILED_EXPORT]
    return flag instanceof WebAssembly.Global && flag.value === 1
  })
  if (growFailed) return memoryLimit(undefined, pages)
  try {
    checkMemories(instances, pages)
  } catch (limit) {
    return limit as RuntimeError
  }
  const name = err instanceof Error ? err.name : typeof err
  const message = err instanceof Error ? err.message : String(err)
  return new RuntimeError(RuntimeErrorCode.TRAP, `Wasm trap: ${message}`, { name })
}

function instantiationError (err: unknown, instances: WebAssembly.Instance[], pages: number): RuntimeError {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof WebAssembly.LinkError || /undefined instance import/.test(message)) {
    return new RuntimeError(RuntimeErrorCode.MISSING_IMPORT, `cannot instantiate: ${message}`)
  }
  if (err instanceof RangeError && /out of memory/i.test(message)) {
    return new RuntimeError(RuntimeErrorCode.MEMORY_LIMIT, `cannot allocate Wasm memory: ${message}`)
  }
  return classify(err, instances, pages)
}
