import { availableParallelism } from 'node:os'

export interface WasmRunnerOptions {
  /**
   * Worker threads running Wasm calls; calls beyond that wait in a queue.
   * @default os.availableParallelism()
   */
  workers?: number
  /**
   * Timeout of a call that gives none, counted from when a worker starts it (queueing
   * time excluded). Homestar's default `meta.time`.
   * @default 100_000
   */
  defaultTimeoutMs?: number
  /**
   * Memory cap of a call that gives none, per linear memory. Homestar's default
   * `meta.memory` (4 GiB, the whole 32-bit address space).
   * @default 4 GiB
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

export const defaultWasmRunnerOptions = {
  workers: Math.max(1, availableParallelism()),
  defaultTimeoutMs: 100_000,
  defaultMemoryBytes: 4 * GIB,
  maxMemoryBytes: 4 * GIB,
  cacheDir: undefined,
  workerHeapMb: 512,
  maxCachedArtifacts: 64,
  prepareTimeoutMs: 120_000
} satisfies Required<Omit<WasmRunnerOptions, 'cacheDir'>> & { cacheDir: undefined }
