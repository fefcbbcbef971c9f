import type { PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { NetworkMetrics, ReceiptMetrics } from '../metrics/index.js'

/** A receipt a peer sent, after decoding and validation by the {@link ReceiptExchange}. */
export interface DecodedReceipt {
  /** Receipt CID (recomputed from the record, never trusted from the wire). */
  cid: CID
  /** CID of the invocation the receipt is for. */
  ran: CID
  /** CID of the instruction the receipt is for (the DHT record key). */
  instruction: CID
  /** The runtime receipt, in whatever form the exchange produces. */
  record: unknown
}

export type ReceiptSource = 'pubsub' | 'dht'

export interface PeerReceipt extends DecodedReceipt {
  /** Peer id the receipt came from: the gossip propagation source or the DHT peer that answered. */
  publisher: string
  via: ReceiptSource
}

/**
 * The receipt codecs and the store, as the network sees them. The network moves bytes; this
 * object decides what they mean.
 */
export interface ReceiptExchange {
  /** Decode and validate a gossip message; throws on anything malformed or whose CID does not match. */
  decodeGossip(bytes: Uint8Array): DecodedReceipt
  /** Decode and validate a DHT record stored under `key` (the instruction CID); throws like `decodeGossip`. */
  decodeDhtRecord(key: CID, bytes: Uint8Array): DecodedReceipt
  /** Called for every valid receipt from a peer (the composition root stores it). */
  onPeerReceipt(receipt: PeerReceipt): Promise<void>
}

/** Blocks by CID, to serve to peers and to keep what was fetched. */
export interface Blocks {
  get(cid: CID): Promise<Uint8Array | undefined>
  has(cid: CID): Promise<boolean>
  put(cid: CID, bytes: Uint8Array): Promise<unknown>
}

/** The metrics the network updates: its own group and the receipt counters. */
export interface NetworkMetricGroups {
  network: NetworkMetrics
  receipts: ReceiptMetrics
}

export interface NetworkComponents {
  /** The node's Ed25519 key; the peer id derives from it. */
  privateKey: PrivateKey
  logger: Logger
  receipts: ReceiptExchange
  /** Blocks served to peers and where fetched blocks are kept; without it nothing is served. */
  blocks?: Blocks
  metrics?: NetworkMetricGroups
}
