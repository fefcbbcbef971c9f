import type { CID } from 'multiformats/cid'
import { cidOf } from './cid.js'
import { decode, encode } from './codec.js'
import { IpldError, IpldErrorCode } from './errors.js'
import { asLink, field, isIpldMap } from './kinds.js'
import type { Receipt, ResultTag, StoredReceipt } from './model.js'
import type { Ipld, IpldMap } from './value.js'

/** Version string of Homestar's runtime receipts and receipt records. */
export const RECEIPT_VERSION = '0.2.0'

const RESULT_TAGS: ReadonlySet<string> = new Set(['ok', 'error', 'just'])
const RECEIPT_KEYS = ['ran', 'out', 'meta', 'iss', 'prf']
const STORED_KEYS = [...RECEIPT_KEYS, 'cid', 'instruction', 'version']

/** The receipt of a successful Wasm call, as Homestar builds it: `out = ["ok", output]`, `meta = {op: func}`. */
export function wasmReceipt (ran: CID, func: string, output: Ipld): Receipt {
  return { ran, out: ['ok', output], meta: { op: func }, iss: null, prf: [] }
}

/** The hashed form `{ran, out, meta, iss, prf}`. */
export function receiptIpld (receipt: Receipt): IpldMap {
  return { ran: receipt.ran, out: [receipt.out[0], receipt.out[1]], meta: receipt.meta, iss: receipt.iss, prf: receipt.prf }
}

/** How a receipt is stored: the DAG-CBOR of exactly what its CID hashes. */
export function encodeReceipt (receipt: Receipt): Uint8Array {
  return encode(receiptIpld(receipt))
}

/** Receipt CID = cid(`{ran, out, meta, iss, prf}`). */
export function receiptCid (receipt: Receipt): CID {
  return cidOf(receiptIpld(receipt))
}

/** The runtime form of `receipt` for the instruction `instruction`, with its CID computed. */
export function toStoredReceipt (receipt: Receipt, instruction: CID): StoredReceipt {
  return { ...receipt, cid: receiptCid(receipt), instruction, version: RECEIPT_VERSION }
}

/** A runtime receipt to write; `version` defaults to "0.2.0". */
export type StoredReceiptInput = Receipt & { cid: CID, instruction: CID, version?: string }

/** `{cid, iss, out, prf, ran, meta, version, instruction}`: the map stored, gossiped and served. */
export function storedReceiptIpld (receipt: StoredReceiptInput): IpldMap {
  return { ...receiptIpld(receipt), cid: receipt.cid, instruction: receipt.instruction, version: receipt.version ?? RECEIPT_VERSION }
}

/**
 * DAG-CBOR of the runtime form. `receipt.cid` is written as given: build it with
 * {@link toStoredReceipt} or {@link receiptCid} (decoding checks it).
 */
export function encodeStoredReceipt (receipt: StoredReceiptInput): Uint8Array {
  return encode(storedReceiptIpld(receipt))
}

/** Decodes the runtime form and checks that `cid` is the CID of its content (`IPLD_RECEIPT_CID_MISMATCH`). */
export function decodeStoredReceipt (bytes: Uint8Array): StoredReceipt {
  return storedReceiptFromIpld(decode(bytes))
}

function invalid (message: string, path: string, code: IpldErrorCode = IpldErrorCode.INVALID_RECEIPT): IpldError {
  return new IpldError(code, `${path}: ${message}`, { path })
}

function checkKeys (map: IpldMap, allowed: string[], path: string, code?: IpldErrorCode): void {
  for (const key of Object.keys(map)) {
    if (!allowed.includes(key)) throw invalid(`unexpected field \`${key}\``, path, code)
  }
  for (const key of allowed) {
    if (!Object.hasOwn(map, key)) throw invalid(`missing field \`${key}\``, path, code)
  }
}

function requireLink (map: IpldMap, key: string, path: string): CID {
  const link = asLink(field(map, key))
  if (link === undefined) throw invalid(`\`${key}\` must be a link`, `${path}.${key}`)
  return link
}

/**
 * Reads the five hashed fields of a receipt map, strictly: `ran` a link, `out` a 2-element
 * list tagged ok/error/just, `meta` a map, `iss` a string or null, `prf` a list of links.
 * Throws `IPLD_INVALID_RECEIPT`. Other keys are left to the caller.
 */
export function receiptFromIpld (map: IpldMap, path = 'receipt'): Receipt {
  const ran = requireLink(map, 'ran', path)
  const out = field(map, 'out')
  if (!Array.isArray(out) || out.length !== 2 || typeof out[0] !== 'string' || !RESULT_TAGS.has(out[0])) {
    throw invalid('`out` must be ["ok" | "error" | "just", value]', `${path}.out`)
  }
  const meta = field(map, 'meta')
  if (!isIpldMap(meta)) throw invalid('`meta` must be a map', `${path}.meta`)
  const iss = field(map, 'iss')
  if (iss !== null && typeof iss !== 'string') throw invalid('`iss` must be a string or null', `${path}.iss`)
  const rawPrf = field(map, 'prf')
  if (!Array.isArray(rawPrf)) throw invalid('`prf` must be a list of links', `${path}.prf`)
  const prf = rawPrf.map((item, i) => {
    const link = asLink(item)
    if (link === undefined) throw invalid('`prf` must be a list of links', `${path}.prf[${i}]`)
    return link
  })
  return { ran, out: [out[0] as ResultTag, out[1]], meta, iss, prf }
}

/** Validates a parsed receipt map of exactly the five hashed keys. */
export function parseReceipt (value: Ipld, path = 'receipt'): Receipt {
  if (!isIpldMap(value)) throw invalid('a receipt must be a map', path)
  checkKeys(value, RECEIPT_KEYS, path)
  return receiptFromIpld(value, path)
}

/** Checks the version of a receipt record (`IPLD_RECEIPT_VERSION`, Homestar's message). */
export function checkReceiptVersion (version: Ipld | undefined, path: string): string {
  if (version !== RECEIPT_VERSION) {
    throw new IpldError(IpldErrorCode.RECEIPT_VERSION, `record version mismatch, current version: ${RECEIPT_VERSION}`, { path, version: typeof version === 'string' ? version : null })
  }
  return version
}

/**
 * Validates the runtime form (exactly `cid, iss, out, prf, ran, meta, version, instruction`),
 * recomputes the receipt CID and rejects a mismatch with `IPLD_RECEIPT_CID_MISMATCH`.
 */
export function storedReceiptFromIpld (value: Ipld, path = 'receipt'): StoredReceipt {
  if (!isIpldMap(value)) throw invalid('a receipt must be a map', path)
  checkKeys(value, STORED_KEYS, path)
  const receipt = receiptFromIpld(value, path)
  const cid = requireLink(value, 'cid', path)
  const instruction = requireLink(value, 'instruction', path)
  const version = checkReceiptVersion(field(value, 'version'), `${path}.version`)
  const stated = cid.toString()
  const actual = receiptCid(receipt).toString()
  if (actual !== stated) {
    throw new IpldError(IpldErrorCode.RECEIPT_CID_MISMATCH, `receipt CID ${stated} does not match its content (${actual})`, {
      path: `${path}.cid`, expected: stated, actual
    })
  }
  return { ...receipt, cid, instruction, version }
}
