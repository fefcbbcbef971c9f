/**
 * IPLD for Homestar compatibility: the DAG-JSON reader and writer, canonical DAG-CBOR,
 * sha3-256 CIDs, and the workflow/receipt model with every CID Homestar computes.
 */
export { Float, type Ipld, type IpldMap } from './value.js'
export { IpldError, IpldErrorCode } from './errors.js'
export { parseJson, type ParseJsonOptions } from './json.js'
export { toDagJson, formatFloat } from './json-writer.js'
export { encode, decode } from './codec.js'
export {
  CID, cidOf, cidOfBytes, cidFromBytes, cidText, parseCid, tryParseCid, isHomestarCid, sha3256, DAG_CBOR_CODE, SHA3_256_CODE
} from './cid.js'
export { asLink, cidIn, isIpldMap, kindOf, field, compareUtf8, ipldEquals, type IpldKind } from './kinds.js'
export { base64Encode, base64Decode, base32HexEncode, base32HexDecode } from './encoding.js'
export type {
  Instruction, Task, Workflow, Receipt, StoredReceipt, ResultTag, Arg, Arg as WasmArg, AwaitBranch, WasmRunInput
} from './model.js'
export { normalizeNonce, randomNonce, type Nonce } from './nonce.js'
export {
  parseWorkflow, parseWorkflowSliced, parseWorkflowTasks, parseInstruction, duplicateInstructions, assertUniqueInstructions, invocationCid,
  RUN_NOT_EXPANDED_MESSAGE, DUPLICATE_TASKS_MESSAGE
} from './workflow.js'
export { parseWasmRunInput, classifyArg, resourceLinks, awaitedInstructions, WASM_RUN_OP } from './wasm-input.js'
export {
  wasmReceipt, receiptIpld, encodeReceipt, receiptCid, toStoredReceipt, storedReceiptIpld, encodeStoredReceipt, decodeStoredReceipt,
  receiptFromIpld, parseReceipt, storedReceiptFromIpld, checkReceiptVersion, RECEIPT_VERSION, type StoredReceiptInput
} from './receipt.js'
export {
  encodeReceiptCapsule, decodeReceiptCapsule, encodeGossipReceipt, decodeGossipReceipt,
  receiptNotificationIpld, receiptNotificationJson, RECEIPT_CAPSULE_TAG, RECEIPT_SIGNATURE_TAG, GOSSIP_NONCE_BYTES,
  type GossipReceipt, type ReceiptNotification, type CapsuleSignature, type CapsuleReceipt
} from './receipt-wire.js'
