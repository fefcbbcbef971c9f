export interface WorkflowEngineOptions {
  /** Tasks executing at once across all runs. @default 32 */
  concurrency: number
  /** Retries of a failed task attempt. @default 3 */
  retries: number
  /** @default 500 */
  retryInitialDelayMs: number
  /** @default 60000 */
  retryMaxDelayMs: number
  /** Task timeout when `meta.time` is absent. @default 100000 */
  defaultTimeoutMs: number
  /** Wasm memory cap when `meta.memory` is absent. @default 268435456 */
  defaultMemoryBytes: number
}

export const defaultWorkflowEngineOptions: WorkflowEngineOptions = {
  concurrency: 32,
  retries: 3,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 60_000,
  defaultTimeoutMs: 100_000,
  defaultMemoryBytes: 256 * 1024 * 1024
}
