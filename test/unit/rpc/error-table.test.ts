import { describe, expect, it } from 'vitest'
import { jsonRpcCodeFor, RpcErrorCode, toJsonRpcError, RpcError } from '../../../src/rpc/index.js'
import { IpldErrorCode } from '../../../src/ipld/index.js'
import { WorkflowErrorCode } from '../../../src/workflow/index.js'
import { StoreErrorCode } from '../../../src/store/index.js'
import { RuntimeErrorCode } from '../../../src/runtime/index.js'
import { ResourceErrorCode } from '../../../src/resources/index.js'
import { ConfigErrorCode } from '../../../src/config/index.js'
import { NetworkErrorCode } from '../../../src/network/index.js'
import { MetricsErrorCode } from '../../../src/metrics/index.js'
import { ComputeErrorCode } from '../../../src/compute/index.js'
import { IpvmError } from '../../../src/util/errors.js'

/**
 * The number a client sees for each code, written out once from what the node answered
 * before the table was explicit (it went by how a code was spelled). A change here changes
 * what clients see.
 */
const EXPECTED: Record<string, number> = {
  IPLD_JSON_SYNTAX: -32602,
  IPLD_JSON_NUMBER_RANGE: -32602,
  IPLD_JSON_DEPTH: -32602,
  IPLD_INVALID_CID: -32602,
  IPLD_INVALID_BYTES: -32602,
  IPLD_ENCODE: -32602,
  IPLD_DECODE: -32602,
  IPLD_INVALID_WORKFLOW: -32602,
  IPLD_INVALID_RESOURCE: -32602,
  IPLD_INVALID_NONCE: -32602,
  IPLD_RUN_NOT_EXPANDED: -32602,
  IPLD_DUPLICATE_TASKS: -32602,
  IPLD_INVALID_INPUT: -32602,
  IPLD_INVALID_RECEIPT: -32602,
  IPLD_RECEIPT_CID_MISMATCH: -32602,
  IPLD_RECEIPT_VERSION: -32602,
  IPLD_INVALID_CAPSULE: -32602,
  IPLD_INVALID_MESSAGE: -32602,
  WORKFLOW_INVALID: -32602,
  WORKFLOW_INVALID_DUPLICATE_TASK: -32602,
  WORKFLOW_INVALID_UNKNOWN_AWAIT: -32602,
  WORKFLOW_INVALID_UNSUPPORTED_OP: -32602,
  WORKFLOW_INVALID_SLEEP_INPUT: -32602,
  WORKFLOW_NOT_FOUND: -32004,
  WORKFLOW_RECEIPT_NOT_FOUND: -32004,
  WORKFLOW_RESTARTS_EXCEEDED: -32603,
  WORKFLOW_RELOAD_FAILED: -32603,
  WORKFLOW_DEPENDENCY_FAILED: -32603,
  WORKFLOW_RESOURCE_UNAVAILABLE: -32603,
  WORKFLOW_CANCELLED: -32603,
  WORKFLOW_STATE: -32009,
  WORKFLOW_BUSY: -32005,
  WORKFLOW_TOO_LARGE: -32005,
  WORKFLOW_NAME_TOO_LONG: -32005,
  STORE_LOCKED: -32603,
  STORE_OPEN_FAILED: -32603,
  STORE_NOT_OPEN: -32603,
  STORE_IO: -32603,
  STORE_NO_SPACE: -32603,
  STORE_SCHEMA_UNSUPPORTED: -32603,
  STORE_UNSUPPORTED_CID: -32603,
  STORE_BLOCK_INVALID: -32602,
  STORE_BLOCK_CORRUPT: -32603,
  STORE_BLOCK_NOT_FOUND: -32004,
  STORE_RECEIPT_INVALID: -32602,
  STORE_RECEIPT_CORRUPT: -32603,
  STORE_RECORD_CORRUPT: -32603,
  STORE_NOT_FOUND: -32004,
  STORE_INVALID_CURSOR: -32602,
  STORE_INVALID_ARGUMENT: -32602,
  STORE_NOT_A_FILE: -32603,
  STORE_UNIXFS_INVALID: -32602,
  RUNTIME_TIMEOUT: -32603,
  RUNTIME_MEMORY_LIMIT: -32005,
  RUNTIME_TRAP: -32603,
  RUNTIME_CANCELLED: -32603,
  RUNTIME_WORKER_CRASHED: -32603,
  RUNTIME_NOT_RUNNING: -32603,
  RUNTIME_FUNCTION_NOT_FOUND: -32004,
  RUNTIME_BAD_ARGUMENT: -32603,
  RUNTIME_BAD_OUTPUT: -32603,
  RUNTIME_INVALID_WASM: -32602,
  RUNTIME_MISSING_IMPORT: -32603,
  RESOURCE_UNAVAILABLE: -32603,
  RESOURCE_CORRUPT: -32603,
  RESOURCE_URL_INVALID: -32602,
  RESOURCE_UNSUPPORTED: -32603,
  RESOURCE_FORBIDDEN: -32603,
  RESOURCE_TOO_LARGE: -32005,
  CONFIG_UNKNOWN_KEY: -32603,
  CONFIG_INVALID_VALUE: -32602,
  CONFIG_FILE: -32603,
  CONFIG_KEYPAIR: -32603,
  NETWORK_NOT_STARTED: -32603,
  NETWORK_INVALID_MULTIADDR: -32602,
  NETWORK_INVALID_OPTION: -32602,
  NETWORK_START_FAILED: -32603,
  NETWORK_BLOCK_NOT_FOUND: -32004,
  NETWORK_BLOCK_TIMEOUT: -32603,
  NETWORK_NO_PEERS: -32603,
  NETWORK_ABORTED: -32603,
  NETWORK_UNSUPPORTED_HASH: -32603,
  NETWORK_INVALID_MESSAGE: -32602,
  METRICS_LISTEN_FAILED: -32603,
  METRICS_NOT_STARTED: -32603,
  METRICS_DUPLICATE_METRIC: -32603,
  METRICS_UNKNOWN_TYPE: -32603,
  RPC_PARSE: -32700,
  RPC_INVALID_REQUEST: -32600,
  RPC_METHOD_NOT_FOUND: -32601,
  RPC_INVALID_PARAMS: -32602,
  RPC_INVALID_RESULT: -32602,
  RPC_SUBSCRIPTION_NEEDS_WEBSOCKET: -32001,
  RPC_FRAME_TOO_LARGE: -32005,
  RPC_UPLOAD_TOO_LARGE: -32005,
  RPC_BATCH_TOO_LARGE: -32005,
  RPC_UNAUTHORIZED: -32006,
  RPC_JSON_TOO_DEEP: -32600,
  RPC_RATE_LIMITED: -32005,
  RPC_SUBSCRIPTION_LIMIT: -32005,
  RPC_CONNECTION_LIMIT: -32005,
  RPC_INTERNAL: -32603,
  // codes added with the explicit table: refused like a wrong token
  NETWORK_RECORD_TOO_LARGE: -32005,
  NETWORK_BAD_SIGNATURE: -32602,
  RPC_ORIGIN_NOT_ALLOWED: -32006,
  RPC_HOST_NOT_ALLOWED: -32006,
  NETWORK_PEER_NOT_TRUSTED: -32603,
  COMPUTE_INVALID_OPTION: -32602,
  COMPUTE_BUSY: -32005,
  COMPUTE_INVALID_TASK: -32602,
  COMPUTE_INVALID_RESULT: -32603,
  COMPUTE_TIMEOUT: -32603,
  COMPUTE_REMOTE_FAILED: -32603,
  COMPUTE_WITHDRAWN: -32603
}

const ENUMS: Record<string, Record<string, string>> = {
  IpldErrorCode,
  WorkflowErrorCode,
  StoreErrorCode,
  RuntimeErrorCode,
  ResourceErrorCode,
  ConfigErrorCode,
  NetworkErrorCode,
  MetricsErrorCode,
  ComputeErrorCode,
  RpcErrorCode
}

describe('the JSON-RPC number of every error code', () => {
  const walked = Object.entries(ENUMS).flatMap(([name, e]) => Object.values(e).map(code => [name, code] as const))

  it.each(walked)('%s.%s', (_name, code) => {
    expect(EXPECTED[code], `${code} has no expected number in this test`).toBeDefined()
    expect(jsonRpcCodeFor(code)).toBe(EXPECTED[code])
  })

  it('the expected table names no code that no enum has', () => {
    expect(new Set(walked.map(([, code]) => code))).toEqual(new Set(Object.keys(EXPECTED)))
  })

  it('an unknown code, or one that only looks like a known kind, is -32603', () => {
    for (const code of ['', 'SOMETHING_ELSE', 'FOO_NOT_FOUND', 'BAR_INVALID', 'IPLD_NEW', 'toString', '__proto__', 'constructor']) {
      expect(jsonRpcCodeFor(code)).toBe(-32603)
    }
  })

  it('the error object of a thrown IpvmError carries the number, the standard message and the code', () => {
    expect(toJsonRpcError(new IpvmError('STORE_NOT_FOUND', 'no such run'))).toEqual({ code: -32004, message: 'no such run', data: { code: 'STORE_NOT_FOUND', message: 'no such run' } })
    expect(toJsonRpcError(new RpcError(RpcErrorCode.INVALID_PARAMS, 'bad', { issues: [] }))).toEqual({ code: -32602, message: 'Invalid params', data: { code: 'RPC_INVALID_PARAMS', message: 'bad', issues: [] } })
    expect(toJsonRpcError(new IpvmError('WHATEVER', 'boom'))).toMatchObject({ code: -32603, message: 'boom' })
  })
})
