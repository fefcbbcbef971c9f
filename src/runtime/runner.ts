import type { Startable } from '../util/lifecycle.js'
import type { Ipld } from '../ipld/index.js'
import type { Logger } from '../util/logger.js'
import type { Artifact } from './artifacts/artifact.js'
import { outputConforms, planCall } from './call-plan.js'
import { RuntimeError, RuntimeErrorCode } from './errors.js'
import type { WasmLog } from './host.js'
import { defaultWasmRunnerOptions, type WasmRunnerOptions } from './options.js'
import { CallFailure, WorkerPool, type PoolStats } from './workers/pool.js'
import { Preparer } from './workers/preparer.js'
import { LruMap } from '../util/lru.js'
import { withDefaults } from '../util/options.js'

export interface WasmRunnerComponents {
  logger: Logger
  /** Told when the workers have run nothing for a while after running calls (the spare ones have stopped). */
  quiet?: () => void
}

export interface RunRequest {
  /** Cache key of the compiled Wasm: the resource CID. The same key must always mean the same bytes. */
  key: string
  /** The resource: a component, a core module (with or without component metadata) or WAT text. */
  wasm: Uint8Array
  /** Function name, looked up as Homestar does (`add_one` finds `add-one`). */
  func: string
  args: Ipld[]
  /** @default options.defaultTimeoutMs */
  timeoutMs?: number
  /** Cap of each linear memory, in bytes (rounded down to 64 KiB pages). @default options.defaultMemoryBytes */
  memoryBytes?: number
  signal?: AbortSignal
  /** Who the call is for (a workflow run): the workers are shared fairly between groups. @default one group for all */
  group?: string
}

export interface RunResult {
  output: Ipld
  /** What the guest logged (`wasi:logging`) or printed (`homestar:host/helpers.print`). */
  logs: WasmLog[]
  /** Log entries beyond the per-call limit, not kept. */
  droppedLogs: number
}

const PAGE_BYTES = 65536
const PREPARER_IDLE_MS = 5000

/**
 * Runs Wasm functions for tasks. Resources are prepared once per key (in a child process)
 * and cached; each call runs on a fresh instance in a pool of worker threads, with a
 * timeout, a memory cap and cancellation. Errors are `RuntimeError`s whose
 * `retryable` says whether running the task again might help.
 */
export class WasmRunner implements Startable {
  private readonly options: Required<Omit<WasmRunnerOptions, 'cacheDir'>> & { cacheDir?: string }
  private readonly logger: Logger
  /** Prepared artifacts by key, the least recently used dropped (and forgotten by the workers) beyond `maxCachedArtifacts`. */
  private readonly artifacts: LruMap<string, Promise<Artifact>>
  private pool?: WorkerPool
  private preparer?: Preparer
  private readonly quiet?: () => void

  constructor (options: WasmRunnerOptions = {}, components: WasmRunnerComponents) {
    this.options = withDefaults(defaultWasmRunnerOptions, { ...options, maxExtraWorkers: options.maxExtraWorkers ?? (options.workers !== undefined ? 2 * options.workers : undefined) })
    this.logger = components.logger
    this.quiet = components.quiet
    this.artifacts = new LruMap(this.options.maxCachedArtifacts, { onEvict: key => this.pool?.forget(key) })
  }

  start (): Promise<void> {
    if (this.pool !== undefined) return Promise.resolve()
    const heapMb = this.options.workerHeapMb
    this.pool = new WorkerPool({
      size: this.options.workers,
      maxExtraWorkers: this.options.maxExtraWorkers,
      reliefAfterMs: this.options.reliefAfterMs,
      extraIdleMs: this.options.extraIdleMs,
      longCallMs: this.options.longCallMs,
      idleMs: this.options.workerIdleMs,
      quietMs: this.options.quietMs,
      growAfterMs: this.options.growAfterMs,
      ...(this.quiet !== undefined ? { onQuiet: this.quiet } : {}),
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, heapMb >> 3)) }
    }, { logger: this.logger })
    this.preparer = new Preparer({
      ...(this.options.cacheDir !== undefined ? { cacheDir: this.options.cacheDir } : {}),
      timeoutMs: this.options.prepareTimeoutMs,
      idleMs: PREPARER_IDLE_MS
    }, { logger: this.logger })
    this.pool.start()
    return Promise.resolve()
  }

  async stop (): Promise<void> {
    const pool = this.pool
    const preparer = this.preparer
    this.pool = undefined
    this.preparer = undefined
    this.artifacts.clear()
    await Promise.all([pool?.stop(), preparer?.stop()])
  }

  /**
   * Whether `value` could be the result of `func` in the Wasm (`key`, `wasm`), by the result
   * type it declares (the Wasm is prepared, or taken from the cache); undefined when that is
   * not known.
   */
  async conforms (req: { key: string, wasm: Uint8Array, func: string }, value: Ipld): Promise<boolean | undefined> {
    const artifact = await this.artifact(req.key, req.wasm)
    return outputConforms(artifact.description, req.func, value)
  }

  async run (request: RunRequest): Promise<RunResult> {
    const pool = this.pool
    if (pool === undefined) throw new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is not started')
    const { signal } = request
    if (signal?.aborted === true) throw new RuntimeError(RuntimeErrorCode.CANCELLED, 'the Wasm call was cancelled')
    const memoryBytes = Math.min(request.memoryBytes ?? this.options.defaultMemoryBytes, this.options.maxMemoryBytes)
    const memoryPages = Math.floor(memoryBytes / PAGE_BYTES)

    const artifact = await withAbort(this.artifact(request.key, request.wasm), signal)
    const plan = planCall(artifact.description, request.func, request.args)
    if (artifact.description.initialPages > memoryPages) {
      throw new RuntimeError(RuntimeErrorCode.MEMORY_LIMIT,
        `the module starts with ${artifact.description.initialPages * PAGE_BYTES} bytes of memory, above the limit of ${memoryPages * PAGE_BYTES}`,
        { limitBytes: memoryPages * PAGE_BYTES })
    }
    try {
      const outcome = await pool.run({
        key: request.key,
        exportName: plan.exportName,
        args: plan.args,
        memoryPages,
        returnsResult: plan.returnsResult
      }, artifact, request.timeoutMs ?? this.options.defaultTimeoutMs, signal, request.group)
      this.writeLogs(outcome.logs)
      return { output: plan.decode(outcome.value), logs: outcome.logs, droppedLogs: outcome.droppedLogs }
    } catch (err) {
      if (!(err instanceof CallFailure)) throw err
      this.writeLogs(err.logs)
      throw err.error
    }
  }

  /** The worker pool's workers and calls at the moment (all zero when stopped). */
  poolStats (): PoolStats {
    return this.pool?.stats() ?? { workers: 0, extra: 0, busy: 0, queued: 0, lowPriority: 0, longCalls: 0, groups: {} }
  }

  /** The prepared artifact for `key`, preparing it on first use (least recently used evicted). */
  private async artifact (key: string, wasm: Uint8Array): Promise<Artifact> {
    let artifact = this.artifacts.get(key)
    if (artifact !== undefined) return artifact
    const preparer = this.preparer
    if (preparer === undefined) throw new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is not started')
    const started = performance.now()
    artifact = preparer.prepare(key, wasm)
    this.artifacts.set(key, artifact)
    artifact.then(({ description }) => {
      this.logger.debug({ key, kind: description.kind, ms: Math.round(performance.now() - started), reusable: description.resettable }, 'Wasm prepared')
      if (Object.keys(description.unguarded).length > 0) {
        this.logger.warn({ key, modules: description.unguarded }, 'Wasm memory growth cannot be capped in some modules; the cap is checked after each call')
      }
    }, () => {
      if (this.artifacts.get(key) === artifact) this.artifacts.delete(key)
    })
    return artifact
  }

  private writeLogs (logs: WasmLog[]): void {
    for (const log of logs) {
      const level = log.level === 'critical' ? 'error' : log.level === 'print' ? 'info' : log.level
      this.logger[level]({ subject: 'wasm_execution', category: log.context }, log.message)
    }
  }
}

async function withAbort<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new RuntimeError(RuntimeErrorCode.CANCELLED, 'the Wasm call was cancelled'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
