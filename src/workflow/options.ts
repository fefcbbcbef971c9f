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
  /** Most tasks in one workflow; larger ones are refused with `WORKFLOW_TOO_LARGE`. @default 10000 */
  maxTasks: number
  /** Runs executing at once; later runs wait in a queue. @default 64 */
  maxRuns: number
  /** Runs waiting for one of `maxRuns`; beyond them `submit` throws `WORKFLOW_BUSY`. @default 1024 */
  maxQueuedRuns: number
  /**
   * Times a run may be resumed after the node restarts before it is marked failed
   * (`WORKFLOW_RESTARTS_EXCEEDED`): a run that keeps crashing the node is stopped. @default 3
   */
  maxRestarts: number
}

export const defaultWorkflowEngineOptions: WorkflowEngineOptions = {
  concurrency: 32,
  retries: 3,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 60_000,
  defaultTimeoutMs: 100_000,
  defaultMemoryBytes: 256 * 1024 * 1024,
  maxTasks: 10_000,
  maxRuns: 64,
  maxQueuedRuns: 1024,
  maxRestarts: 3
}
