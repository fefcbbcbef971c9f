import type { CID } from 'multiformats/cid'
import { decodeGossipReceipt, decodeReceiptCapsule, encodeGossipReceipt, encodeReceiptCapsule, receiptCid, type Receipt, type StoredReceipt } from '../ipld/index.js'
import type { DecodedReceipt, PeerReceipt, ReceiptExchange } from './types.js'

/**
 * Homestar's receipt formats on the network (homestar.md §9.3–§9.4): gossip messages
 * `{header: {nonce}, payload: <runtime receipt>}` and DHT records `{"ipvm/receipt": …}`, each
 * decoded strictly and checked against its CID before anything else sees it.
 */
export function homestarReceiptExchange (onPeerReceipt: (r: PeerReceipt & { record: StoredReceipt }) => Promise<void>): ReceiptExchange {
  return {
    decodeGossip: (bytes: Uint8Array): DecodedReceipt => {
      const { receipt } = decodeGossipReceipt(bytes)
      return { cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, record: receipt }
    },
    decodeDhtRecord: (key: CID, bytes: Uint8Array): DecodedReceipt => {
      const receipt = decodeReceiptCapsule(bytes, key)
      return { cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, record: receipt }
    },
    onPeerReceipt: async r => { await onPeerReceipt(r as PeerReceipt & { record: StoredReceipt }) }
  }
}

/** The gossip message and DHT record of a receipt this node made. */
export function receiptWireForms (receipt: Receipt, instruction: CID): { cid: CID, gossipBytes: Uint8Array, dhtBytes: Uint8Array } {
  const cid = receiptCid(receipt)
  return { cid, gossipBytes: encodeGossipReceipt({ ...receipt, cid, instruction }), dhtBytes: encodeReceiptCapsule(receipt) }
}
