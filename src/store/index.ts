export { Store, SCHEMA_VERSION, type StoreOptions, type StoreComponents, type StoreHealth } from './store.js'
export { StoreError, StoreErrorCode, isStoreError } from './errors.js'
export { BlockStore, type BlockInput } from './block-store.js'
export { BlockstoreAdapter } from './blockstore-adapter.js'
export {
  ReceiptStore, receiptOutcome,
  type ReceiptInput, type ReceiptOutcome, type PutReceiptResult, type InstructionReceipt, type ReusableReceipt
} from './receipt-store.js'
export { MAX_VOUCHERS, type ReceiptProvenance, type ReceiptSource, type Voucher, type VoucherVia } from './receipt-provenance.js'
export {
  WorkflowStore, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT,
  type ListWorkflowsOptions, type WorkflowPage
} from './workflow-store.js'
export {
  WORKFLOW_STATUSES,
  type WorkflowRun, type WrittenRun, type NewWorkflowRun, type WorkflowRunPatch, type WorkflowStatus, type RunError
} from './workflow-record.js'
export {
  importFile, catFile, catStream, UNIXFS_CHUNK_SIZE_BYTES, UNIXFS_MAX_CHILDREN,
  type ImportFileOptions, type CatFileOptions
} from './unixfs.js'
export { Bucket } from './buckets.js'
