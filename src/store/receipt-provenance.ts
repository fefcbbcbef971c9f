import * as dagCbor from '@ipld/dag-cbor'
import { StoreError, StoreErrorCode } from './errors.js'

/** How a peer handed a receipt over: gossip, a DHT record, a direct exchange, or as the answer to a task this node sent it. */
export type VoucherVia = 'pubsub' | 'dht' | 'exchange' | 'dispatch'

/** A peer that vouches for a receipt: it published it (signed gossip) or signed it (an attestation). */
export interface Voucher {
  /** The peer id (base58). */
  peer: string
  via: VoucherVia
  /** True when the peer signed the receipt itself (an attestation), not only the message carrying it. */
  signed: boolean
}

/** Who stands behind a stored receipt. */
export interface ReceiptProvenance {
  /** This node computed it. */
  local: boolean
  /** The peers that vouched for it, at most `MAX_VOUCHERS`, first ones first. */
  vouchers: Voucher[]
}

/** Where a receipt being stored comes from. */
export type ReceiptSource =
  | { kind: 'local' }
  | { kind: 'peer', vouchers: Voucher[] }

/** Vouchers kept per receipt: enough to meet any quorum, bounded so a peer cannot grow a record. */
export const MAX_VOUCHERS = 8

const VIAS: ReadonlySet<string> = new Set(['pubsub', 'dht', 'exchange', 'dispatch'])

/** `stored` with what `source` adds; undefined when nothing changes (nothing to write). */
export function mergeProvenance (stored: ReceiptProvenance | undefined, source: ReceiptSource): ReceiptProvenance | undefined {
  const current: ReceiptProvenance = stored ?? { local: false, vouchers: [] }
  if (source.kind === 'local') return current.local ? undefined : { local: true, vouchers: current.vouchers }
  const vouchers = [...current.vouchers]
  let changed = stored === undefined
  for (const v of source.vouchers) {
    if (vouchers.length >= MAX_VOUCHERS) break
    const known = vouchers.findIndex(x => x.peer === v.peer)
    if (known === -1) {
      vouchers.push({ peer: v.peer, via: v.via, signed: v.signed })
      changed = true
    } else if (v.signed && !vouchers[known].signed) {
      vouchers[known] = { peer: v.peer, via: v.via, signed: true }
      changed = true
    }
  }
  return changed ? { local: current.local, vouchers } : undefined
}

export function encodeProvenance (p: ReceiptProvenance): Uint8Array {
  return dagCbor.encode({ local: p.local, vouchers: p.vouchers.map(v => ({ peer: v.peer, via: v.via, signed: v.signed })) })
}

export function decodeProvenance (bytes: Uint8Array): ReceiptProvenance {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'receipt provenance record is not DAG-CBOR', undefined, { cause: err })
  }
  const v = value as { local?: unknown, vouchers?: unknown } | null
  if (v === null || typeof v !== 'object' || typeof v.local !== 'boolean' || !Array.isArray(v.vouchers)) {
    throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'malformed receipt provenance record')
  }
  const vouchers = v.vouchers.map((x: unknown) => {
    const w = x as { peer?: unknown, via?: unknown, signed?: unknown } | null
    if (w === null || typeof w !== 'object' || typeof w.peer !== 'string' || typeof w.via !== 'string' || !VIAS.has(w.via) || typeof w.signed !== 'boolean') {
      throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'malformed voucher in a receipt provenance record')
    }
    return { peer: w.peer, via: w.via as VoucherVia, signed: w.signed }
  })
  return { local: v.local, vouchers }
}
