import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { defaultConfig, type IpvmConfig } from '../config/index.js'
import { LONG_CALL_MS } from './workers/priority.js'

export interface WasmRunnerOptions {
  /**
   * Worker threads running Wasm calls at once; calls beyond that wait in a queue. The first
   * starts when a call waits for it, each further one once the workers running cannot keep
   * up (`growAfterMs`).
   * @default os.availableParallelism()
   */
  workers?: number
  /**
   * How long calls must have kept waiting, with no worker starting and the running workers
   * busy at least half that time by their own clocks, before another worker (up to `workers`)
   * starts: short calls that one worker keeps up with do not cost the memory of a second
   * (~10 MB each).
   * @default 50
   */
  growAfterMs?: number
  /**
   * How long an idle worker thread stays, ready for the next call, before it stops (and
   * gives back its memory); the next call starts a fresh one.
   * @default 10_000 (`workflow.worker_idle_ms`)
   */
  workerIdleMs?: number
  /**
   * How long the workers run no call before all but one stop (each holds ~10 MB); the last
   * stays for `workerIdleMs`.
   * @default 1000
   */
  quietMs?: number
  /**
   * Workers that may be started beyond `workers` for runs left without one while every
   * worker is busy with long calls (`reliefAfterMs`); each stops once idle.
   * @default twice the number of `workers`
   */
  maxExtraWorkers?: number
  /**
   * How long every busy worker's call must have run before a run with calls waiting and no
   * worker gets an extra one.
   * @default 250
   */
  reliefAfterMs?: number
  /**
   * How long an idle extra worker waits for another run left without one before it stops.
   * @default 5000
   */
  extraIdleMs?: number
  /**
   * How long a Wasm call runs before its thread drops to the lowest CPU priority (nice 19) until
   * it ends. @default 100
   */
  longCallMs?: number
  /**
   * Timeout of a call that gives none, counted from when a worker starts it (queueing
   * time excluded). Homestar's default `meta.time`.
   * @default 100_000 (`workflow.default_timeout_ms`)
   */
  defaultTimeoutMs?: number
  /**
   * Memory cap of a call that gives none, per linear memory.
   * @default 256 MiB (`workflow.default_memory_bytes`)
   */
  defaultMemoryBytes?: number
  /**
   * Ceiling on any call's `memoryBytes`, whatever the task asks for.
   * @default 4 GiB
   */
  maxMemoryBytes?: number
  /**
   * Directory where prepared (transpiled, guarded) Wasm is kept across restarts,
   * one sub-directory per key. Memory only when unset.
   * @default undefined
   */
  cacheDir?: string
  /**
   * JS heap cap of each worker (old generation), in MiB. Wasm memory is not part
   * of it: `memoryBytes` caps that.
   * @default 512
   */
  workerHeapMb?: number
  /**
   * Prepared artifacts kept in memory (least recently used are dropped).
   * @default 64
   */
  maxCachedArtifacts?: number
  /**
   * Limit on preparing (componentizing, transpiling, compiling) one resource.
   * @default 120_000
   */
  prepareTimeoutMs?: number
}

export const GIB = 1024 * 1024 * 1024

/** The runner's options from the settings; the cache lives in `<data_dir>/cache/wasm`. */
export function wasmRunnerOptions (config: Pick<IpvmConfig, 'workflow'>, dataDir?: string): WasmRunnerOptions {
  return {
    defaultTimeoutMs: config.workflow.default_timeout_ms,
    defaultMemoryBytes: config.workflow.default_memory_bytes,
    workerIdleMs: config.workflow.worker_idle_ms,
    ...(dataDir !== undefined ? { cacheDir: join(dataDir, 'cache', 'wasm') } : {})
  }
}

export const defaultWasmRunnerOptions: Required<Omit<WasmRunnerOptions, 'cacheDir'>> & { cacheDir?: string } = {
  workers: Math.max(1, availableParallelism()),
  workerIdleMs: defaultConfig.workflow.worker_idle_ms,
  quietMs: 1000,
  growAfterMs: 50,
  maxExtraWorkers: 2 * Math.max(1, availableParallelism()),
  reliefAfterMs: 250,
  extraIdleMs: 5000,
  longCallMs: LONG_CALL_MS,
  defaultTimeoutMs: defaultConfig.workflow.default_timeout_ms,
  defaultMemoryBytes: defaultConfig.workflow.default_memory_bytes,
  maxMemoryBytes: 4 * GIB,
  workerHeapMb: 512,
  maxCachedArtifacts: 64,
  prepareTimeoutMs: 120_000
}
