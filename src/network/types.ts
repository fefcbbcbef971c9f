import type { PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Logger } from '../util/logger.js'
import type { NetworkMetrics, ReceiptMetrics } from '../metrics/index.js'
import type { ReceiptProvenance, ReceiptSource as StoredReceiptSource, ReusableReceipt, Voucher } from '../store/index.js'

/** A receipt a peer sent, after decoding and validation by the {@link ReceiptExchange}. */
export interface DecodedReceipt {
  /** Receipt CID (recomputed from the record, never trusted from the wire). */
  cid: CID
  /** CID of the invocation the receipt is for. */
  ran: CID
  /** CID of the instruction the receipt is for (the DHT record key). */
  instruction: CID
  /** The DAG-CBOR of exactly what the receipt CID hashes: what is stored. */
  bytes: Uint8Array
  /** `out[0]` is `ok`. */
  ok: boolean
  /** The DAG-CBOR of `out`, to compare two receipts' results. */
  out: Uint8Array
  /** The receipt's `iss` (Homestar writes null). */
  issuer: string | null
  /** A signature over the receipt for its instruction, when the record carries one (not verified yet). */
  signature?: { iss: string, sig: Uint8Array }
  /** The receipt in whatever form the exchange produces. */
  record: unknown
}

export type ReceiptVia = 'pubsub' | 'dht'

/** Where the node keeps the receipts peers vouched for enough (the node's receipt store). */
export interface PeerReceiptStore {
  /** The receipt the node would reuse for the instruction, if any. */
  getByInstruction(instruction: CID): Promise<ReusableReceipt | undefined>
  /** `getByInstruction` for several instructions at once, in input order. */
  getManyByInstruction(instructions: CID[]): Promise<Array<ReusableReceipt | undefined>>
  /** Stored receipts' bytes, in input order. */
  getMany(cids: CID[]): Promise<Array<Uint8Array | undefined>>
  /** Stores a receipt (idempotent; the vouchers are added to its provenance). */
  put(r: { cid: CID, instruction: CID, bytes: Uint8Array, source: StoredReceiptSource }): Promise<{ stored: boolean }>
  /** `put` for several receipts in one write, results in input order. */
  putMany(rs: Array<{ cid: CID, instruction: CID, bytes: Uint8Array, source: StoredReceiptSource }>): Promise<Array<{ stored: boolean }>>
  /** A stored receipt's bytes. */
  get(cid: CID): Promise<Uint8Array | undefined>
  /** Who stands behind each receipt. */
  provenanceOf(cids: CID[]): Promise<Array<ReceiptProvenance | undefined>>
}

export type { Voucher }

/**
 * The receipt codecs, as the network sees them. The network moves bytes; this object decides
 * what they mean.
 */
export interface ReceiptExchange {
  /** Decode and validate a gossip message; throws on anything malformed or whose CID does not match. */
  decodeGossip(bytes: Uint8Array): DecodedReceipt
  /** Decode and validate a DHT record stored under `key` (the instruction CID); throws like `decodeGossip`. */
  decodeDhtRecord(key: CID, bytes: Uint8Array): DecodedReceipt
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
  /** Where receipts from peers are kept once the trust policy admits them. */
  receiptStore: PeerReceiptStore
  /** Blocks served to peers and where fetched blocks are kept; without it nothing is served. */
  blocks?: Blocks
  metrics?: NetworkMetricGroups
}
