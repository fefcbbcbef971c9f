import type { CID } from 'multiformats/cid'
import { decodeGossipReceipt, decodeReceiptCapsule, encodeGossipReceipt, encodeReceipt, encodeReceiptCapsule, receiptCid, type Receipt } from '../ipld/index.js'
import type { ReceiptMetrics } from '../metrics/index.js'
import type { DecodedReceipt, ReceiptExchange } from './types.js'

/** Where receipts from peers are kept (the node's receipt store). */
export interface PeerReceiptStore {
  /** Stores the DAG-CBOR of a receipt under its CID and instruction; `stored` is false when it was there already. */
  put(r: { cid: CID, instruction: CID, bytes: Uint8Array }): Promise<{ stored: boolean }>
}

export interface HomestarReceiptExchangeComponents {
  store: PeerReceiptStore
  metrics?: { receipts: ReceiptMetrics }
}

/**
 * Homestar's receipt formats on the network (homestar.md §9.3–§9.4): gossip messages
 * `{header: {nonce}, payload: <runtime receipt>}` and DHT records `{"ipvm/receipt": …}`, each
 * decoded strictly and checked against its CID before anything else sees it. A valid receipt
 * is kept in the store (`ipvm_receipts_from_peers_total` counts the new ones).
 */
export function homestarReceiptExchange (c: HomestarReceiptExchangeComponents): ReceiptExchange {
  return {
    decodeGossip: (bytes: Uint8Array): DecodedReceipt => {
      const { receipt } = decodeGossipReceipt(bytes)
      return { cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, record: receipt }
    },
    decodeDhtRecord: (key: CID, bytes: Uint8Array): DecodedReceipt => {
      const receipt = decodeReceiptCapsule(bytes, key)
      return { cid: receipt.cid, ran: receipt.ran, instruction: receipt.instruction, record: receipt }
    },
    onPeerReceipt: async r => {
      const { stored } = await c.store.put({ cid: r.cid, instruction: r.instruction, bytes: encodeReceipt(r.record as Receipt) })
      if (stored) c.metrics?.receipts.fromPeers.inc()
    }
  }
}

/** The gossip message and DHT record of a receipt this node made. */
export function receiptWireForms (receipt: Receipt, instruction: CID): { cid: CID, gossipBytes: Uint8Array, dhtBytes: Uint8Array } {
  const cid = receiptCid(receipt)
  return { cid, gossipBytes: encodeGossipReceipt({ ...receipt, cid, instruction }), dhtBytes: encodeReceiptCapsule(receipt) }
}
