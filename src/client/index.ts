export { IpvmClient, RpcClientError, type ClientOptions, type RunOptions } from './client.js'
export { SubscriptionStream } from './subscription.js'
export {
  collectRun, isReceiptNotification, isStatusNotification,
  type RunNotification, type NetworkEventNotification, type ReceiptNotification, type WorkflowStatusNotification, type RunResult, type Link
} from './notifications.js'
export type { WorkflowRunJson, WorkflowPageJson } from './runs.js'
