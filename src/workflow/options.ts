import { defaultConfig, type IpvmConfig } from '../config/index.js'
import type { Placement } from './contracts.js'

export interface WorkflowEngineOptions {
  /** Tasks executing at once across all runs. @default 32 (`workflow.concurrency`) */
  concurrency: number
  /** Retries of a failed task attempt. @default 3 (`workflow.retries`) */
  retries: number
  /** @default 500 (`workflow.retry_initial_delay_ms`) */
  retryInitialDelayMs: number
  /** @default 60000 (`workflow.retry_max_delay_ms`) */
  retryMaxDelayMs: number
  /** Task timeout when `meta.time` is absent. @default 100000 (`workflow.default_timeout_ms`) */
  defaultTimeoutMs: number
  /**
   * Ceiling on a task's timeout: a `meta.time` above it (or a `defaultTimeoutMs` above it) is
   * lowered to it, so no task holds a Wasm worker for longer. @default 600000 (`workflow.max_timeout_ms`)
   */
  maxTimeoutMs: number
  /** Wasm memory cap when `meta.memory` is absent. @default 268435456 (`workflow.default_memory_bytes`) */
  defaultMemoryBytes: number
  /** Most tasks in one workflow; larger ones are refused with `WORKFLOW_TOO_LARGE`. @default 10000 (`workflow.max_tasks`) */
  maxTasks: number
  /** Runs executing at once; later runs wait in a queue. @default 64 (`workflow.max_runs`) */
  maxRuns: number
  /** Runs waiting for one of `maxRuns`; beyond them `submit` throws `WORKFLOW_BUSY`. @default 1024 (`workflow.max_queued_runs`) */
  maxQueuedRuns: number
  /**
   * Times a run may be resumed after a crash of the node before it is marked failed
   * (`WORKFLOW_RESTARTS_EXCEEDED`): a run that keeps crashing the node is stopped. A graceful
   * stop does not count. @default 3 (`workflow.max_restarts`)
   */
  maxRestarts: number
  /** Where ready Wasm tasks run, unless a run or a task asks otherwise (needs a dispatcher). @default 'local' (`workflow.placement`) */
  placement: Placement
}

/** The workflow engine's options from the `[workflow]` settings. */
export function workflowEngineOptions (config: IpvmConfig['workflow']): WorkflowEngineOptions {
  return {
    concurrency: config.concurrency,
    retries: config.retries,
    retryInitialDelayMs: config.retry_initial_delay_ms,
    retryMaxDelayMs: config.retry_max_delay_ms,
    defaultTimeoutMs: config.default_timeout_ms,
    maxTimeoutMs: config.max_timeout_ms,
    defaultMemoryBytes: config.default_memory_bytes,
    maxTasks: config.max_tasks,
    maxRuns: config.max_runs,
    maxQueuedRuns: config.max_queued_runs,
    maxRestarts: config.max_restarts,
    placement: config.placement
  }
}

export const defaultWorkflowEngineOptions: WorkflowEngineOptions = workflowEngineOptions(defaultConfig.workflow)
