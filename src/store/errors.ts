import { IpvmError } from '../util/errors.js'

/** Stable codes of every error the store raises. Tests and callers compare these, never messages. */
export const StoreErrorCode = {
  /** Another process (or another `Store` in this process) holds the database lock. */
  LOCKED: 'STORE_LOCKED',
  /** The database could not be opened for another reason (corrupt manifest, permissions, ...). */
  OPEN_FAILED: 'STORE_OPEN_FAILED',
  /** An operation was attempted before `start()` or after `stop()`. */
  NOT_OPEN: 'STORE_NOT_OPEN',
  /** LevelDB reported an I/O failure during a read or write. */
  IO: 'STORE_IO',
  /** A write failed because the disk is full (ENOSPC). Writes are refused until the store has recovered. */
  NO_SPACE: 'STORE_NO_SPACE',
  /** The database was written by a newer schema than this code understands. */
  SCHEMA_UNSUPPORTED: 'STORE_SCHEMA_UNSUPPORTED',
  /** A CID uses a codec or hash function the store does not handle. */
  UNSUPPORTED_CID: 'STORE_UNSUPPORTED_CID',
  /** A block handed to `put` does not hash to its CID. Nothing was written. */
  BLOCK_INVALID: 'STORE_BLOCK_INVALID',
  /** A stored block no longer hashes to its CID (disk corruption, tampering). */
  BLOCK_CORRUPT: 'STORE_BLOCK_CORRUPT',
  /** A block that was required (UnixFS export, blockstore `get`) is not in the store. */
  BLOCK_NOT_FOUND: 'STORE_BLOCK_NOT_FOUND',
  /** Receipt bytes handed to `put` do not hash to the receipt CID or are not a receipt. */
  RECEIPT_INVALID: 'STORE_RECEIPT_INVALID',
  /** A stored receipt no longer matches its CID or cannot be decoded. */
  RECEIPT_CORRUPT: 'STORE_RECEIPT_CORRUPT',
  /** A stored record (workflow run, index entry) cannot be decoded. */
  RECORD_CORRUPT: 'STORE_RECORD_CORRUPT',
  /** `update` of a workflow run that does not exist. */
  NOT_FOUND: 'STORE_NOT_FOUND',
  /** A paging cursor that this store did not produce. */
  INVALID_CURSOR: 'STORE_INVALID_CURSOR',
  /** An argument is out of range or of the wrong shape. */
  INVALID_ARGUMENT: 'STORE_INVALID_ARGUMENT',
  /** The CID given to `catFile` does not name a UnixFS file (a directory, a dag-cbor node, ...). */
  NOT_A_FILE: 'STORE_NOT_A_FILE',
  /** A UnixFS DAG is malformed (bad protobuf, inconsistent sizes). */
  UNIXFS_INVALID: 'STORE_UNIXFS_INVALID'
} as const

export type StoreErrorCode = typeof StoreErrorCode[keyof typeof StoreErrorCode]

export class StoreError extends IpvmError<StoreErrorCode> {}

export function isStoreError (err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code)
}
