import { CID, decode, encodeReceipt, parseReceipt } from '../ipld/index.js'
import type { ReceiptEvent, RunEvent } from './run-model.js'

/**
 * Sizes of the byte chunks the receipts are packed into: the first is small, each next one
 * twice the last, up to the largest (a larger receipt gets a chunk of its own). A run of a
 * few tasks keeps a few kB, not a 64 kB chunk (128 runs in flight held 8 MiB of them).
 */
const FIRST_CHUNK_BYTES = 1024
const CHUNK_BYTES = 64 * 1024

/** A receipt event as kept: where its CID and receipt bytes are in the chunks. */
interface KeptReceipt {
  type: 'receipt'
  index: number
  replayed: boolean
  executor?: string
  chunk: number
  offset: number
  /** Bytes of the CID, then of the receipt's DAG-CBOR. */
  cidLength: number
  length: number
}

/**
 * The events of a run, kept so that a listener attaching late gets every one from the start,
 * at a small cost per finished task: a receipt event keeps its CID's bytes and its receipt's
 * DAG-CBOR, packed into shared chunks, instead of the decoded receipt, its CIDs and the
 * event (about 200 bytes instead of over 1 kB: a 10 000-task run kept every decoded
 * receipt for as long as it ran). Events are rebuilt, equal to the ones emitted, when read.
 */
export class RunHistory {
  private readonly entries: Array<KeptReceipt | Exclude<RunEvent, ReceiptEvent>> = []
  private readonly chunks: Uint8Array[] = []
  private used = 0

  get length (): number { return this.entries.length }
  /** Bytes of the chunks the receipts are kept in. */
  get keptBytes (): number { return this.chunks.reduce((sum, c) => sum + c.byteLength, 0) }

  push (event: RunEvent): void {
    if (event.type !== 'receipt') {
      this.entries.push(event)
      return
    }
    const cid = event.cid.bytes
    const receipt = encodeReceipt(event.receipt)
    const size = cid.length + receipt.length
    let chunk = this.chunks.at(-1)
    if (chunk === undefined || this.used + size > chunk.length) {
      const next = Math.min(CHUNK_BYTES, Math.max(FIRST_CHUNK_BYTES, 2 * (chunk?.length ?? 0)))
      chunk = new Uint8Array(Math.max(next, size))
      this.chunks.push(chunk)
      this.used = 0
    }
    chunk.set(cid, this.used)
    chunk.set(receipt, this.used + cid.length)
    this.entries.push({
      type: 'receipt',
      index: event.index,
      replayed: event.replayed,
      ...(event.executor !== undefined ? { executor: event.executor } : {}),
      chunk: this.chunks.length - 1,
      offset: this.used,
      cidLength: cid.length,
      length: size
    })
    this.used += size
  }

  /** The events in order, including those pushed while iterating. */
  * events (): Generator<RunEvent> {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]
      yield e.type === 'receipt' ? this.rebuild(e) : e
    }
  }

  private rebuild (e: KeptReceipt): ReceiptEvent {
    const chunk = this.chunks[e.chunk]
    // a copy, so that the CID does not hold the whole chunk
    const cid = CID.decode(chunk.slice(e.offset, e.offset + e.cidLength))
    const receipt = parseReceipt(decode(chunk.subarray(e.offset + e.cidLength, e.offset + e.length)))
    return { type: 'receipt', index: e.index, cid, receipt, replayed: e.replayed, ...(e.executor !== undefined ? { executor: e.executor } : {}) }
  }
}
