import { IpvmError } from '../util/errors.js'

/**
 * Stable codes of the IPLD layer. Clients and tests compare these, never messages.
 * `data` carries structured detail: `{ line, column, offset }` for JSON syntax errors,
 * `{ path }` (e.g. `tasks[1].run.nnc`) for workflow errors, `{ expected, actual }` for
 * CID mismatches.
 */
export const IpldErrorCode = {
  /** The text is not valid JSON (serde_json's grammar: no trailing commas, no leading zeros, no lone surrogates, ...). */
  JSON_SYNTAX: 'IPLD_JSON_SYNTAX',
  /** A JSON number literal whose value does not fit in a float64 (`1e400`). */
  JSON_NUMBER_RANGE: 'IPLD_JSON_NUMBER_RANGE',
  /** Arrays and objects nested deeper than the limit (127 levels by default, like serde_json). */
  JSON_DEPTH: 'IPLD_JSON_DEPTH',
  /** A string that should be a CID (a `{"/": "..."}` link, a CID argument) is not one. */
  INVALID_CID: 'IPLD_INVALID_CID',
  /** A `{"/": {"bytes": "..."}}` value whose text is not unpadded standard base64. */
  INVALID_BYTES: 'IPLD_INVALID_BYTES',
  /** A value outside the IPLD data model (NaN, Infinity, `undefined`, an integer beyond 64 bits, a class instance). */
  ENCODE: 'IPLD_ENCODE',
  /** Bytes that are not valid DAG-CBOR. */
  DECODE: 'IPLD_DECODE',
  /** A workflow, task or instruction whose shape is wrong (a missing or mistyped field). */
  INVALID_WORKFLOW: 'IPLD_INVALID_WORKFLOW',
  /** An instruction `rsc` that is neither a URL nor a CIDv1 link. */
  INVALID_RESOURCE: 'IPLD_INVALID_RESOURCE',
  /** A nonce that is not `""`, 12 or 16 bytes, or a lowercase base32hex string of 12 or 16 bytes. */
  INVALID_NONCE: 'IPLD_INVALID_NONCE',
  /** A task whose `run` is a link instead of an inline instruction: it cannot be executed. */
  RUN_NOT_EXPANDED: 'IPLD_RUN_NOT_EXPANDED',
  /** Two tasks with the same instruction CID. */
  DUPLICATE_TASKS: 'IPLD_DUPLICATE_TASKS',
  /** The `input` of a `wasm/run` instruction is not `{func: string, args: [...]}`. */
  INVALID_INPUT: 'IPLD_INVALID_INPUT',
  /** A receipt (hashed, runtime, capsule or gossip form) with a missing or mistyped field. */
  INVALID_RECEIPT: 'IPLD_INVALID_RECEIPT',
  /** A receipt whose stated CID differs from the CID of its content. */
  RECEIPT_CID_MISMATCH: 'IPLD_RECEIPT_CID_MISMATCH',
  /** A receipt record of another version than `0.2.0`. */
  RECEIPT_VERSION: 'IPLD_RECEIPT_VERSION',
  /** A DHT record that is not a receipt capsule. */
  INVALID_CAPSULE: 'IPLD_INVALID_CAPSULE',
  /** A gossip message that is not `{header: {nonce}, payload}`. */
  INVALID_MESSAGE: 'IPLD_INVALID_MESSAGE'
} as const
export type IpldErrorCode = typeof IpldErrorCode[keyof typeof IpldErrorCode]

export class IpldError extends IpvmError<IpldErrorCode> {}
