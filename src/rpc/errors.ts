import { IpvmError, errorMessage, isIpvmError } from '../util/errors.js'
import { IpldErrorCode } from '../ipld/index.js'
import { WorkflowErrorCode } from '../workflow/index.js'
import { StoreErrorCode } from '../store/index.js'
import { RuntimeErrorCode } from '../runtime/index.js'
import { ResourceErrorCode } from '../resources/index.js'
import { ConfigErrorCode } from '../config/index.js'
// types only: the network (libp2p) and distributed execution are loaded after JSON-RPC
// answers, so their codes are written out below (the table's type checks them all the same)
import type { NetworkErrorCode } from '../network/index.js'
import { MetricsErrorCode } from '../metrics/index.js'
import type { ComputeErrorCode } from '../compute/index.js'

/** JSON-RPC 2.0 error codes this node answers with. Only this file maps error codes to numbers. */
export const JsonRpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** A subscription method called over plain HTTP. */
  SUBSCRIPTION_NEEDS_WEBSOCKET: -32001,
  /** A configured limit (frame size, batch length, rate, subscriptions, runs) was hit. */
  LIMIT_EXCEEDED: -32005,
  /** Authentication required or wrong token. */
  UNAUTHORIZED: -32006,
  /** The thing asked about (workflow, receipt, subscription) does not exist. */
  NOT_FOUND: -32004,
  /** The request is valid but the node cannot do it now (state conflict). */
  CONFLICT: -32009
} as const

export const RpcErrorCode = {
  PARSE: 'RPC_PARSE',
  INVALID_REQUEST: 'RPC_INVALID_REQUEST',
  METHOD_NOT_FOUND: 'RPC_METHOD_NOT_FOUND',
  INVALID_PARAMS: 'RPC_INVALID_PARAMS',
  INVALID_RESULT: 'RPC_INVALID_RESULT',
  SUBSCRIPTION_NEEDS_WEBSOCKET: 'RPC_SUBSCRIPTION_NEEDS_WEBSOCKET',
  FRAME_TOO_LARGE: 'RPC_FRAME_TOO_LARGE',
  UPLOAD_TOO_LARGE: 'RPC_UPLOAD_TOO_LARGE',
  BATCH_TOO_LARGE: 'RPC_BATCH_TOO_LARGE',
  UNAUTHORIZED: 'RPC_UNAUTHORIZED',
  /** A message nested deeper than rpc.max_json_depth. */
  JSON_TOO_DEEP: 'RPC_JSON_TOO_DEEP',
  /** More requests on one connection than rpc.max_requests_per_second (after the burst). */
  RATE_LIMITED: 'RPC_RATE_LIMITED',
  /** A connection already has rpc.max_subscriptions_per_connection subscriptions open. */
  SUBSCRIPTION_LIMIT: 'RPC_SUBSCRIPTION_LIMIT',
  /** rpc.max_connections WebSocket clients are already connected. */
  CONNECTION_LIMIT: 'RPC_CONNECTION_LIMIT',
  /** A browser page whose origin is neither the node's own nor in rpc.allowed_origins. */
  ORIGIN_NOT_ALLOWED: 'RPC_ORIGIN_NOT_ALLOWED',
  /** A Host header whose name is not in rpc.allowed_hosts (DNS rebinding). */
  HOST_NOT_ALLOWED: 'RPC_HOST_NOT_ALLOWED',
  INTERNAL: 'RPC_INTERNAL'
} as const
export type RpcErrorCode = typeof RpcErrorCode[keyof typeof RpcErrorCode]

export class RpcError extends IpvmError<RpcErrorCode> {}

export interface JsonRpcErrorObject { code: number, message: string, data?: unknown }

/** Every error code a subsystem raises on purpose. */
export type AllErrorCodes = RpcErrorCode | IpldErrorCode | WorkflowErrorCode | StoreErrorCode | RuntimeErrorCode | ResourceErrorCode |
ConfigErrorCode | NetworkErrorCode | MetricsErrorCode | ComputeErrorCode

const { PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR, SUBSCRIPTION_NEEDS_WEBSOCKET, LIMIT_EXCEEDED, UNAUTHORIZED, NOT_FOUND, CONFLICT } = JsonRpcCode

/**
 * The JSON-RPC number a client sees for each code. A code added to any subsystem's enum
 * without a line here does not compile.
 */
const JSON_RPC_NUMBER = {
  [RpcErrorCode.PARSE]: PARSE_ERROR,
  [RpcErrorCode.INVALID_REQUEST]: INVALID_REQUEST,
  [RpcErrorCode.METHOD_NOT_FOUND]: METHOD_NOT_FOUND,
  [RpcErrorCode.INVALID_PARAMS]: INVALID_PARAMS,
  [RpcErrorCode.INVALID_RESULT]: INVALID_PARAMS,
  [RpcErrorCode.SUBSCRIPTION_NEEDS_WEBSOCKET]: SUBSCRIPTION_NEEDS_WEBSOCKET,
  [RpcErrorCode.FRAME_TOO_LARGE]: LIMIT_EXCEEDED,
  [RpcErrorCode.UPLOAD_TOO_LARGE]: LIMIT_EXCEEDED,
  [RpcErrorCode.BATCH_TOO_LARGE]: LIMIT_EXCEEDED,
  [RpcErrorCode.UNAUTHORIZED]: UNAUTHORIZED,
  [RpcErrorCode.ORIGIN_NOT_ALLOWED]: UNAUTHORIZED,
  [RpcErrorCode.HOST_NOT_ALLOWED]: UNAUTHORIZED,
  [RpcErrorCode.JSON_TOO_DEEP]: INVALID_REQUEST,
  [RpcErrorCode.RATE_LIMITED]: LIMIT_EXCEEDED,
  [RpcErrorCode.SUBSCRIPTION_LIMIT]: LIMIT_EXCEEDED,
  [RpcErrorCode.CONNECTION_LIMIT]: LIMIT_EXCEEDED,
  [RpcErrorCode.INTERNAL]: INTERNAL_ERROR,

  [IpldErrorCode.JSON_SYNTAX]: INVALID_PARAMS,
  [IpldErrorCode.JSON_NUMBER_RANGE]: INVALID_PARAMS,
  [IpldErrorCode.JSON_DEPTH]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_CID]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_BYTES]: INVALID_PARAMS,
  [IpldErrorCode.ENCODE]: INVALID_PARAMS,
  [IpldErrorCode.DECODE]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_WORKFLOW]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_RESOURCE]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_NONCE]: INVALID_PARAMS,
  [IpldErrorCode.RUN_NOT_EXPANDED]: INVALID_PARAMS,
  [IpldErrorCode.DUPLICATE_TASKS]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_INPUT]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_RECEIPT]: INVALID_PARAMS,
  [IpldErrorCode.RECEIPT_CID_MISMATCH]: INVALID_PARAMS,
  [IpldErrorCode.RECEIPT_VERSION]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_CAPSULE]: INVALID_PARAMS,
  [IpldErrorCode.INVALID_MESSAGE]: INVALID_PARAMS,

  [WorkflowErrorCode.INVALID]: INVALID_PARAMS,
  [WorkflowErrorCode.DUPLICATE_TASK]: INVALID_PARAMS,
  [WorkflowErrorCode.UNKNOWN_AWAIT]: INVALID_PARAMS,
  [WorkflowErrorCode.UNSUPPORTED_OP]: INVALID_PARAMS,
  [WorkflowErrorCode.INVALID_SLEEP_INPUT]: INVALID_PARAMS,
  [WorkflowErrorCode.NOT_FOUND]: NOT_FOUND,
  [WorkflowErrorCode.RECEIPT_NOT_FOUND]: NOT_FOUND,
  [WorkflowErrorCode.RESTARTS_EXCEEDED]: INTERNAL_ERROR,
  [WorkflowErrorCode.RELOAD_FAILED]: INTERNAL_ERROR,
  [WorkflowErrorCode.DEPENDENCY_FAILED]: INTERNAL_ERROR,
  [WorkflowErrorCode.RESOURCE_UNAVAILABLE]: INTERNAL_ERROR,
  [WorkflowErrorCode.CANCELLED]: INTERNAL_ERROR,
  [WorkflowErrorCode.STATE]: CONFLICT,
  [WorkflowErrorCode.BUSY]: LIMIT_EXCEEDED,
  [WorkflowErrorCode.TOO_LARGE]: LIMIT_EXCEEDED,
  [WorkflowErrorCode.NAME_TOO_LONG]: LIMIT_EXCEEDED,

  [StoreErrorCode.LOCKED]: INTERNAL_ERROR,
  [StoreErrorCode.OPEN_FAILED]: INTERNAL_ERROR,
  [StoreErrorCode.NOT_OPEN]: INTERNAL_ERROR,
  [StoreErrorCode.IO]: INTERNAL_ERROR,
  [StoreErrorCode.NO_SPACE]: INTERNAL_ERROR,
  [StoreErrorCode.SCHEMA_UNSUPPORTED]: INTERNAL_ERROR,
  [StoreErrorCode.UNSUPPORTED_CID]: INTERNAL_ERROR,
  [StoreErrorCode.BLOCK_INVALID]: INVALID_PARAMS,
  [StoreErrorCode.BLOCK_CORRUPT]: INTERNAL_ERROR,
  [StoreErrorCode.BLOCK_NOT_FOUND]: NOT_FOUND,
  [StoreErrorCode.RECEIPT_INVALID]: INVALID_PARAMS,
  [StoreErrorCode.RECEIPT_CORRUPT]: INTERNAL_ERROR,
  [StoreErrorCode.RECORD_CORRUPT]: INTERNAL_ERROR,
  [StoreErrorCode.NOT_FOUND]: NOT_FOUND,
  [StoreErrorCode.INVALID_CURSOR]: INVALID_PARAMS,
  [StoreErrorCode.INVALID_ARGUMENT]: INVALID_PARAMS,
  [StoreErrorCode.NOT_A_FILE]: INTERNAL_ERROR,
  [StoreErrorCode.UNIXFS_INVALID]: INVALID_PARAMS,

  [RuntimeErrorCode.TIMEOUT]: INTERNAL_ERROR,
  [RuntimeErrorCode.MEMORY_LIMIT]: LIMIT_EXCEEDED,
  [RuntimeErrorCode.TRAP]: INTERNAL_ERROR,
  [RuntimeErrorCode.CANCELLED]: INTERNAL_ERROR,
  [RuntimeErrorCode.WORKER_CRASHED]: INTERNAL_ERROR,
  [RuntimeErrorCode.NOT_RUNNING]: INTERNAL_ERROR,
  [RuntimeErrorCode.FUNCTION_NOT_FOUND]: NOT_FOUND,
  [RuntimeErrorCode.BAD_ARGUMENT]: INTERNAL_ERROR,
  [RuntimeErrorCode.BAD_OUTPUT]: INTERNAL_ERROR,
  [RuntimeErrorCode.INVALID_WASM]: INVALID_PARAMS,
  [RuntimeErrorCode.MISSING_IMPORT]: INTERNAL_ERROR,

  [ResourceErrorCode.UNAVAILABLE]: INTERNAL_ERROR,
  [ResourceErrorCode.CORRUPT]: INTERNAL_ERROR,
  [ResourceErrorCode.URL_INVALID]: INVALID_PARAMS,
  [ResourceErrorCode.UNSUPPORTED]: INTERNAL_ERROR,
  [ResourceErrorCode.FORBIDDEN]: INTERNAL_ERROR,
  [ResourceErrorCode.TOO_LARGE]: LIMIT_EXCEEDED,

  [ConfigErrorCode.UNKNOWN_KEY]: INTERNAL_ERROR,
  [ConfigErrorCode.INVALID_VALUE]: INVALID_PARAMS,
  [ConfigErrorCode.FILE]: INTERNAL_ERROR,
  [ConfigErrorCode.KEYPAIR]: INTERNAL_ERROR,

  NETWORK_NOT_STARTED: INTERNAL_ERROR,
  NETWORK_INVALID_MULTIADDR: INVALID_PARAMS,
  NETWORK_INVALID_OPTION: INVALID_PARAMS,
  NETWORK_START_FAILED: INTERNAL_ERROR,
  NETWORK_BLOCK_NOT_FOUND: NOT_FOUND,
  NETWORK_BLOCK_TIMEOUT: INTERNAL_ERROR,
  NETWORK_NO_PEERS: INTERNAL_ERROR,
  NETWORK_ABORTED: INTERNAL_ERROR,
  NETWORK_UNSUPPORTED_HASH: INTERNAL_ERROR,
  NETWORK_INVALID_MESSAGE: INVALID_PARAMS,
  NETWORK_RECORD_TOO_LARGE: LIMIT_EXCEEDED,
  NETWORK_BAD_SIGNATURE: INVALID_PARAMS,
  NETWORK_PEER_NOT_TRUSTED: INTERNAL_ERROR,

  [MetricsErrorCode.LISTEN_FAILED]: INTERNAL_ERROR,
  [MetricsErrorCode.NOT_STARTED]: INTERNAL_ERROR,
  [MetricsErrorCode.DUPLICATE_METRIC]: INTERNAL_ERROR,
  [MetricsErrorCode.UNKNOWN_TYPE]: INTERNAL_ERROR,

  COMPUTE_INVALID_OPTION: INVALID_PARAMS,
  COMPUTE_BUSY: LIMIT_EXCEEDED,
  COMPUTE_INVALID_TASK: INVALID_PARAMS,
  COMPUTE_INVALID_RESULT: INTERNAL_ERROR,
  COMPUTE_TIMEOUT: INTERNAL_ERROR,
  COMPUTE_REMOTE_FAILED: INTERNAL_ERROR,
  COMPUTE_WITHDRAWN: INTERNAL_ERROR,


} satisfies Record<AllErrorCodes, number>

const MESSAGES: Record<number, string> = {
  [JsonRpcCode.PARSE_ERROR]: 'Parse error',
  [JsonRpcCode.INVALID_REQUEST]: 'Invalid Request',
  [JsonRpcCode.METHOD_NOT_FOUND]: 'Method not found',
  [JsonRpcCode.INVALID_PARAMS]: 'Invalid params',
  [JsonRpcCode.INTERNAL_ERROR]: 'Internal error'
}

/** The JSON-RPC number for one of the node's error codes; -32603 for a code not in the table. */
export function jsonRpcCodeFor (code: string): number {
  return Object.hasOwn(JSON_RPC_NUMBER, code) ? JSON_RPC_NUMBER[code as AllErrorCodes] : JsonRpcCode.INTERNAL_ERROR
}

/** The `error` member of a response for anything a handler threw. Never leaks a stack. */
export function toJsonRpcError (err: unknown): JsonRpcErrorObject {
  if (isIpvmError(err)) {
    const code = jsonRpcCodeFor(err.code)
    const message = code === JsonRpcCode.INTERNAL_ERROR || MESSAGES[code] === undefined ? err.message : MESSAGES[code]
    return { code, message, data: { code: err.code, message: err.message, ...(err.data ?? {}) } }
  }
  return { code: JsonRpcCode.INTERNAL_ERROR, message: 'Internal error', data: { code: RpcErrorCode.INTERNAL, message: errorMessage(err) } }
}
