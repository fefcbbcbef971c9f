import { type CID } from 'multiformats/cid'
import { cidIn, decode, encode, isIpldMap, receiptCid, receiptFromIpld, receiptIpld, type CapsuleSignature, type Ipld, type Receipt } from '../ipld/index.js'
import { NetworkError, NetworkErrorCode } from './errors.js'

/**
 * The receipt exchange between ipvm nodes (`/ipvm/receipts/1.0.0`): requests and their answers,
 * each a length-prefixed DAG-CBOR message; a stream carries requests one at a time, each
 * answered before the next is sent, until the asking side closes it (an answering side may
 * close after any answer: the asking side then opens another stream).
 * - `{want: [instruction CID…]}`: the receipts the peer would reuse for these instructions
 *   (a run asks its peers for all its tasks at once);
 * - `{have: [receipt CID…]}`: the receipts the peer stored recently that are not in the list
 *   (anti-entropy: what gossip lost comes back).
 * The answer is `{receipts: [{instruction, receipt, sig?, record?}]}`, `receipt` in its hashed
 * form and `sig` the executing node's signature (see attestation.ts) when the answering node
 * made it, or the record's signature; `record: true` marks a DHT record a peer put on the
 * answering node (to `want`, a node answers what a DHT lookup on it would find too), which the
 * answering node holds but does not vouch for.
 */
export const RECEIPT_EXCHANGE_PROTOCOL = '/ipvm/receipts/1.0.0'

/** Instructions asked for in one request, at most. */
export const MAX_WANT = 1024
/** Receipt CIDs listed as held in one request, at most. */
export const MAX_HAVE = 4096
/** Largest request taken. */
export const MAX_REQUEST_BYTES = 256 * 1024
/** Largest answer taken (and given). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024

export type ExchangeRequest = { want: CID[] } | { have: CID[] }

export interface ExchangedReceipt {
  instruction: CID
  cid: CID
  receipt: Receipt
  signature?: CapsuleSignature
  /** A DHT record a peer put on the answering node: it holds it, but does not vouch for it. */
  record?: true
}

function invalid (message: string): NetworkError {
  return new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `receipt exchange: ${message}`)
}

function cidList (value: Ipld | undefined, max: number, what: string): CID[] {
  if (!Array.isArray(value) || value.length > max) throw invalid(`${what} must be a list of at most ${max} links`)
  return value.map(v => {
    const cid = cidIn(v)
    if (cid === null) throw invalid(`${what} holds something other than a link`)
    return cid
  })
}

export function encodeRequest (request: ExchangeRequest): Uint8Array {
  return encode('want' in request ? { want: request.want } : { have: request.have })
}

export function decodeRequest (bytes: Uint8Array): ExchangeRequest {
  const value = decode(bytes)
  if (!isIpldMap(value) || Object.keys(value).length !== 1) throw invalid('a request is {want} or {have}')
  if ('want' in value) return { want: cidList(value.want, MAX_WANT, 'want') }
  if ('have' in value) return { have: cidList(value.have, MAX_HAVE, 'have') }
  throw invalid('a request is {want} or {have}')
}

export function encodeResponse (receipts: ExchangedReceipt[]): Uint8Array {
  return encode({
    receipts: receipts.map(r => ({
      instruction: r.instruction,
      receipt: receiptIpld(r.receipt),
      ...(r.signature !== undefined ? { sig: { iss: r.signature.iss, sig: r.signature.sig } } : {}),
      ...(r.record === true ? { record: true } : {})
    }))
  })
}

/** The receipts of an answer, each checked for shape and its CID computed; malformed entries throw. */
export function decodeResponse (bytes: Uint8Array): ExchangedReceipt[] {
  const value = decode(bytes)
  if (!isIpldMap(value) || !Array.isArray(value.receipts)) throw invalid('an answer is {receipts}')
  return value.receipts.map(entry => {
    if (!isIpldMap(entry)) throw invalid('an answered receipt is {instruction, receipt, sig?, record?}')
    const instruction = cidIn(entry.instruction)
    if (instruction === null) throw invalid('instruction must be a link')
    const receipt = receiptFromIpld(isIpldMap(entry.receipt) ? entry.receipt : {}, 'receipt')
    const sig = entry.sig
    let signature: CapsuleSignature | undefined
    if (sig !== undefined) {
      if (!isIpldMap(sig) || typeof sig.iss !== 'string' || !(sig.sig instanceof Uint8Array) || sig.iss.length > 128 || sig.sig.length > 128) throw invalid('sig must be {iss, sig}')
      signature = { iss: sig.iss, sig: sig.sig }
    }
    if (entry.record !== undefined && entry.record !== true) throw invalid('record must be true when present')
    return { instruction, cid: receiptCid(receipt), receipt, ...(signature !== undefined ? { signature } : {}), ...(entry.record === true ? { record: true as const } : {}) }
  })
}
