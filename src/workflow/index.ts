export { WorkflowEngine, type WorkflowEngineComponents, type SubmitOptions } from './engine.js'
export type {
  TaskRunner, TaskRequest, ResourceFetcher, PeerReceipts, ResultTypes, SchedulerComponents, WorkflowCoreMetrics, WorkflowStoreView,
  Placement, ReadyTask, DispatchHooks, DispatchedResult, TaskDispatcher
} from './contracts.js'
export { PLACEMENTS } from './contracts.js'
export { metaPlacement, readSentTask, runTask, sentOutputs } from './execution.js'
export type { PreparedTask, Outcome } from './task.js'
export type { PrepareOptions } from './prepare.js'
export { readReceipt, type ReceiptInfo } from './receipts.js'
export type { RunInfo } from './queries.js'
export { defaultWorkflowEngineOptions, workflowEngineOptions, type WorkflowEngineOptions } from './options.js'
export { RunState } from './run-state.js'
export { FINAL_STATUSES, type RunExecution, type RunStatus, type RunEvent, type ReceiptEvent, type StatusEvent, type RunError, type TaskState, type TaskCounts } from './run-model.js'
export { buildDag, type Dag, type DagNode } from './dag.js'
export { WorkflowError, WorkflowErrorCode } from './errors.js'
export { SLEEP_OP, MAX_SLEEP_MS, parseSleepInput, type SleepInput } from './sleep.js'
export { SUPPORTED_OPS } from './prepare.js'
export { MAX_RUN_NAME_BYTES } from './run-name.js'
