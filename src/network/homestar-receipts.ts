import type { CID } from 'multiformats/cid'
import { decodeGossipReceipt, decodeReceiptCapsule, encode, encodeGossipReceipt, encodeReceipt, encodeReceiptCapsule, receiptCid, type CapsuleSignature, type Receipt, type StoredReceipt } from '../ipld/index.js'
import type { DecodedReceipt, ReceiptExchange } from './types.js'

/**
 * Homestar's receipt formats on the network (homestar.md §9.3–§9.4): gossip messages
 * `{header: {nonce}, payload: <runtime receipt>}` and DHT records `{"ipvm/receipt": …}`
 * (with this node's signature beside the receipt, `"ipvm/signature"`, when it has one), each
 * decoded strictly and checked against its CID before anything else sees it.
 */
export function homestarReceiptExchange (): ReceiptExchange {
  return {
    decodeGossip: (bytes: Uint8Array): DecodedReceipt => decoded(decodeGossipReceipt(bytes).receipt),
    decodeDhtRecord: (key: CID, bytes: Uint8Array): DecodedReceipt => {
      const { signature, ...receipt } = decodeReceiptCapsule(bytes, key)
      return { ...decoded(receipt), ...(signature !== undefined ? { signature } : {}) }
    }
  }
}

function decoded (receipt: StoredReceipt): DecodedReceipt {
  return {
    cid: receipt.cid,
    ran: receipt.ran,
    instruction: receipt.instruction,
    bytes: encodeReceipt(receipt),
    ok: receipt.out[0] === 'ok',
    out: encode([receipt.out[0], receipt.out[1]]),
    issuer: receipt.iss,
    record: receipt
  }
}

/** The gossip message and DHT record of a receipt (the record signed when a signature is given). */
export function receiptWireForms (receipt: Receipt, instruction: CID, signature?: CapsuleSignature): { cid: CID, gossipBytes: Uint8Array, dhtBytes: Uint8Array } {
  const cid = receiptCid(receipt)
  return { cid, gossipBytes: encodeGossipReceipt({ ...receipt, cid, instruction }), dhtBytes: encodeReceiptCapsule(receipt, signature) }
}
