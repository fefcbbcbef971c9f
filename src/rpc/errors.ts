import { IpvmError, errorMessage } from '../util/errors.js'

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
  INTERNAL: 'RPC_INTERNAL'
} as const
export type RpcErrorCode = typeof RpcErrorCode[keyof typeof RpcErrorCode]

export class RpcError extends IpvmError<RpcErrorCode> {}

export interface JsonRpcErrorObject { code: number, message: string, data?: unknown }

const BY_RPC_CODE: Record<string, number> = {
  [RpcErrorCode.PARSE]: JsonRpcCode.PARSE_ERROR,
  [RpcErrorCode.INVALID_REQUEST]: JsonRpcCode.INVALID_REQUEST,
  [RpcErrorCode.METHOD_NOT_FOUND]: JsonRpcCode.METHOD_NOT_FOUND,
  [RpcErrorCode.INVALID_PARAMS]: JsonRpcCode.INVALID_PARAMS,
  [RpcErrorCode.SUBSCRIPTION_NEEDS_WEBSOCKET]: JsonRpcCode.SUBSCRIPTION_NEEDS_WEBSOCKET,
  [RpcErrorCode.FRAME_TOO_LARGE]: JsonRpcCode.LIMIT_EXCEEDED,
  [RpcErrorCode.BATCH_TOO_LARGE]: JsonRpcCode.LIMIT_EXCEEDED,
  [RpcErrorCode.UNAUTHORIZED]: JsonRpcCode.UNAUTHORIZED,
  [RpcErrorCode.JSON_TOO_DEEP]: JsonRpcCode.INVALID_REQUEST,
  [RpcErrorCode.RATE_LIMITED]: JsonRpcCode.LIMIT_EXCEEDED,
  [RpcErrorCode.SUBSCRIPTION_LIMIT]: JsonRpcCode.LIMIT_EXCEEDED,
  [RpcErrorCode.CONNECTION_LIMIT]: JsonRpcCode.LIMIT_EXCEEDED,
  [RpcErrorCode.UPLOAD_TOO_LARGE]: JsonRpcCode.LIMIT_EXCEEDED
}

const MESSAGES: Record<number, string> = {
  [JsonRpcCode.PARSE_ERROR]: 'Parse error',
  [JsonRpcCode.INVALID_REQUEST]: 'Invalid Request',
  [JsonRpcCode.METHOD_NOT_FOUND]: 'Method not found',
  [JsonRpcCode.INVALID_PARAMS]: 'Invalid params',
  [JsonRpcCode.INTERNAL_ERROR]: 'Internal error'
}

/**
 * The JSON-RPC number for one of the node's error codes. Subsystems name their codes by
 * what went wrong; the suffix says how a client should see it.
 */
export function jsonRpcCodeFor (code: string): number {
  const direct = BY_RPC_CODE[code]
  if (direct !== undefined) return direct
  if (code.startsWith('IPLD_') || code.includes('_INVALID')) return JsonRpcCode.INVALID_PARAMS
  if (code.endsWith('_NOT_FOUND') || code.endsWith('_UNKNOWN')) return JsonRpcCode.NOT_FOUND
  if (code.endsWith('_LIMIT') || code.includes('_LIMIT_') || code.endsWith('_TOO_LARGE') || code.endsWith('_BUSY')) return JsonRpcCode.LIMIT_EXCEEDED
  if (code.endsWith('_CONFLICT') || code.endsWith('_STATE')) return JsonRpcCode.CONFLICT
  return JsonRpcCode.INTERNAL_ERROR
}

/** The `error` member of a response for anything a handler threw. Never leaks a stack. */
export function toJsonRpcError (err: unknown): JsonRpcErrorObject {
  if (err instanceof IpvmError) {
    const code = jsonRpcCodeFor(err.code)
    const message = code === JsonRpcCode.INTERNAL_ERROR || MESSAGES[code] === undefined ? err.message : MESSAGES[code]!
    return { code, message, data: { code: err.code, message: err.message, ...(err.data ?? {}) } }
  }
  return { code: JsonRpcCode.INTERNAL_ERROR, message: 'Internal error', data: { code: RpcErrorCode.INTERNAL, message: errorMessage(err) } }
}
