import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { decode, encode } from './codec.js'
import { IpldError, IpldErrorCode } from './errors.js'
import { toDagJson } from './json-writer.js'
import { compareUtf8, field, isIpldMap } from './kinds.js'
import type { Receipt, StoredReceipt } from './model.js'
import type { StoredReceiptInput } from './receipt.js'
import {
  RECEIPT_VERSION, checkReceiptVersion, receiptCid, receiptFromIpld, receiptIpld, storedReceiptFromIpld, storedReceiptIpld
} from './receipt.js'
import type { Ipld, IpldMap } from './value.js'

/** Capsule tag of a receipt record in the DHT. */
export const RECEIPT_CAPSULE_TAG = 'ipvm/receipt'
/**
 * Key of the optional signature beside the receipt in a DHT record. It sorts after
 * `ipvm/receipt` both by length (DAG-CBOR order) and by bytes, so a reader that takes the
 * record's first key as its type, as Homestar does, still sees a receipt.
 */
export const RECEIPT_SIGNATURE_TAG = 'ipvm/signature'

/** A signature over a receipt by the peer that vouches for it: who (`iss`, a peer id) and the signature bytes. */
export interface CapsuleSignature {
  iss: string
  sig: Uint8Array
}

/** A receipt read from a DHT record, with its signature when the record carries one (not verified here). */
export type CapsuleReceipt = StoredReceipt & { signature?: CapsuleSignature }
/** Size of the random nonce in a gossip message header. */
export const GOSSIP_NONCE_BYTES = 12

const CAPSULE_KEYS = ['ran', 'out', 'meta', 'iss', 'prf', 'version']

function invalid (code: IpldErrorCode, message: string, path: string): IpldError {
  return new IpldError(code, `${path}: ${message}`, { path })
}

/**
 * DHT record value: DAG-CBOR `{"ipvm/receipt": {ran, out, meta, iss, prf, version: "0.2.0"}}`,
 * Homestar's form, and `"ipvm/signature": {iss, sig}` beside it when a signature is given.
 */
export function encodeReceiptCapsule (receipt: Receipt, signature?: CapsuleSignature): Uint8Array {
  const capsule: IpldMap = { [RECEIPT_CAPSULE_TAG]: { ...receiptIpld(receipt), version: RECEIPT_VERSION } }
  if (signature !== undefined) capsule[RECEIPT_SIGNATURE_TAG] = { iss: signature.iss, sig: signature.sig }
  return encode(capsule)
}

/**
 * Reads a receipt record found under the DHT key `instruction` (the instruction CID), as
 * Homestar's `decode_capsule`: the map's first key in sorted order must be `ipvm/receipt`
 * (anything else is `IPLD_INVALID_CAPSULE`, with `data.tag`), the version must be "0.2.0"
 * (`IPLD_RECEIPT_VERSION`), and the receipt CID is recomputed from the content.
 */
export function decodeReceiptCapsule (bytes: Uint8Array, instruction: CID): CapsuleReceipt {
  const value = decode(bytes)
  if (!isIpldMap(value)) throw invalid(IpldErrorCode.INVALID_CAPSULE, 'a record must be a map', 'capsule')
  const keys = Object.keys(value).sort(compareUtf8)
  if (keys[0] !== RECEIPT_CAPSULE_TAG) {
    throw new IpldError(IpldErrorCode.INVALID_CAPSULE, `capsule: not a receipt record (tag ${JSON.stringify(keys[0] ?? null)})`, { path: 'capsule', tag: keys[0] ?? null })
  }
  if (keys.length > 2 || (keys.length === 2 && keys[1] !== RECEIPT_SIGNATURE_TAG)) {
    throw invalid(IpldErrorCode.INVALID_CAPSULE, `a receipt record has the key ${RECEIPT_CAPSULE_TAG} and optionally ${RECEIPT_SIGNATURE_TAG}, nothing else`, 'capsule')
  }
  const signature = keys.length === 2 ? capsuleSignature(value[RECEIPT_SIGNATURE_TAG]) : undefined
  const path = `capsule.${RECEIPT_CAPSULE_TAG}`
  const inner = value[RECEIPT_CAPSULE_TAG]
  if (!isIpldMap(inner)) throw invalid(IpldErrorCode.INVALID_RECEIPT, 'a receipt must be a map', path)
  checkReceiptVersion(field(inner, 'version'), `${path}.version`)
  for (const key of Object.keys(inner)) {
    if (!CAPSULE_KEYS.includes(key)) throw invalid(IpldErrorCode.INVALID_RECEIPT, `unexpected field \`${key}\``, path)
  }
  const receipt = receiptFromIpld(inner, path)
  return { ...receipt, cid: receiptCid(receipt), instruction, version: RECEIPT_VERSION, ...(signature !== undefined ? { signature } : {}) }
}

/** The longest peer id string a signature may name (an identity-hashed secp256k1 or Ed25519 key is ~53). */
const MAX_ISSUER_CHARS = 128
/** An Ed25519 or secp256k1 signature is 64-72 bytes. */
const MAX_SIGNATURE_BYTES = 128

function capsuleSignature (value: Ipld | undefined): CapsuleSignature {
  const path = `capsule.${RECEIPT_SIGNATURE_TAG}`
  if (!isIpldMap(value) || Object.keys(value).length !== 2) throw invalid(IpldErrorCode.INVALID_CAPSULE, 'a signature is exactly {iss, sig}', path)
  const iss = field(value, 'iss')
  const sig = field(value, 'sig')
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > MAX_ISSUER_CHARS) throw invalid(IpldErrorCode.INVALID_CAPSULE, 'iss must be a peer id', `${path}.iss`)
  if (!(sig instanceof Uint8Array) || sig.length === 0 || sig.length > MAX_SIGNATURE_BYTES) throw invalid(IpldErrorCode.INVALID_CAPSULE, 'sig must be the bytes of a signature', `${path}.sig`)
  return { iss, sig }
}

/** A receipt gossiped on the `receipts` topic. */
export interface GossipReceipt {
  /** Random header nonce; it makes every publication a distinct pubsub message. */
  nonce: Uint8Array
  receipt: StoredReceipt
}

/** Gossip message: DAG-CBOR `{header: {nonce: <12 random bytes>}, payload: <runtime receipt>}`. */
export function encodeGossipReceipt (receipt: StoredReceiptInput, nonce: Uint8Array = randomBytes(GOSSIP_NONCE_BYTES)): Uint8Array {
  return encode({ header: { nonce: Uint8Array.from(nonce) }, payload: storedReceiptIpld(receipt) })
}

/**
 * Reads a gossip message strictly: exactly `header` and `payload`, a header of exactly a
 * 12- or 16-byte `nonce` (`IPLD_INVALID_MESSAGE`), and a runtime receipt whose CID matches its
 * content (`IPLD_INVALID_RECEIPT`, `IPLD_RECEIPT_CID_MISMATCH`, `IPLD_RECEIPT_VERSION`).
 */
export function decodeGossipReceipt (bytes: Uint8Array): GossipReceipt {
  let value: Ipld
  try {
    value = decode(bytes)
  } catch (err) {
    throw new IpldError(IpldErrorCode.INVALID_MESSAGE, 'gossip message is not DAG-CBOR', { path: 'message' }, { cause: err })
  }
  if (!isIpldMap(value)) throw invalid(IpldErrorCode.INVALID_MESSAGE, 'a gossip message must be a map', 'message')
  const keys = Object.keys(value).sort()
  if (keys.length !== 2 || keys[0] !== 'header' || keys[1] !== 'payload') {
    throw invalid(IpldErrorCode.INVALID_MESSAGE, 'a gossip message is exactly {header, payload}', 'message')
  }
  const header = value.header
  if (!isIpldMap(header) || Object.keys(header).length !== 1) {
    throw invalid(IpldErrorCode.INVALID_MESSAGE, 'the header is exactly {nonce}', 'message.header')
  }
  const nonce = field(header, 'nonce')
  if (!(nonce instanceof Uint8Array) || (nonce.length !== 12 && nonce.length !== 16)) {
    throw invalid(IpldErrorCode.INVALID_MESSAGE, 'the header nonce must be 12 or 16 bytes', 'message.header.nonce')
  }
  return { nonce, receipt: storedReceiptFromIpld(value.payload, 'message.payload') }
}

/** What a receipt notification (`subscribe_run_workflow`) reports. */
export interface ReceiptNotification {
  /** The run's name (the subscription name, or the workflow CID string). */
  name: string
  /** True for a receipt replayed from the store, false for one just computed. */
  replayed: boolean
  workflowCid: CID
  receipt: Receipt
  /** Computed from `receipt` when omitted. */
  receiptCid?: CID
  /** The peer that executed the task (not Homestar's; left out when not given). */
  executor?: string
}

/** The notification object `{metadata: {name, replayed, workflow, executor?}, receipt, receipt_cid}`. */
export function receiptNotificationIpld (notification: ReceiptNotification): IpldMap {
  return {
    metadata: { ...(notification.executor !== undefined ? { executor: notification.executor } : {}), name: notification.name, replayed: notification.replayed, workflow: notification.workflowCid },
    receipt: receiptIpld(notification.receipt),
    receipt_cid: notification.receiptCid ?? receiptCid(notification.receipt)
  }
}

/** DAG-JSON text of a receipt notification, byte for byte what Homestar sends (keys sorted, no whitespace). */
export function receiptNotificationJson (notification: ReceiptNotification): string {
  return toDagJson(receiptNotificationIpld(notification))
}
