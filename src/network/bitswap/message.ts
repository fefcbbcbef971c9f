import { ProtoWriter, readFields, WireType } from '../wire/protobuf.js'

/**
 * Bitswap 1.2.0 messages (the `message.proto` of go-bitswap / boxo):
 *
 *     Message { Wantlist wantlist = 1; repeated bytes blocks = 2; repeated Block payload = 3;
 *               repeated BlockPresence blockPresences = 4; int32 pendingBytes = 5 }
 *     Wantlist { repeated Entry entries = 1; bool full = 2 }
 *     Entry { bytes block = 1; int32 priority = 2; bool cancel = 3; WantType wantType = 4; bool sendDontHave = 5 }
 *     Block { bytes prefix = 1; bytes data = 2 }
 *     BlockPresence { bytes cid = 1; BlockPresenceType type = 2 }
 */

export const WantType = { BLOCK: 0, HAVE: 1 } as const
export const BlockPresenceType = { HAVE: 0, DONT_HAVE: 1 } as const

export interface WantlistEntry {
  /** CID bytes of the wanted block. */
  cid: Uint8Array
  priority: number
  cancel: boolean
  wantType: number
  sendDontHave: boolean
}

export interface BlockPayload {
  /** CID prefix: version, codec, multihash code and digest length, as varints. */
  prefix: Uint8Array
  data: Uint8Array
}

export interface BlockPresence {
  cid: Uint8Array
  type: number
}

export interface BitswapMessage {
  wantlist: { entries: WantlistEntry[], full: boolean }
  /** Bitswap 1.0.0 blocks (CIDv0 data). Kept for decoding only. */
  rawBlocks: Uint8Array[]
  payload: BlockPayload[]
  blockPresences: BlockPresence[]
  pendingBytes: number
}

export function emptyMessage (): BitswapMessage {
  return { wantlist: { entries: [], full: false }, rawBlocks: [], payload: [], blockPresences: [], pendingBytes: 0 }
}

export function encodeMessage (message: BitswapMessage): Uint8Array {
  const writer = new ProtoWriter()
  if (message.wantlist.entries.length > 0 || message.wantlist.full) {
    const wantlist = new ProtoWriter()
    for (const entry of message.wantlist.entries) {
      wantlist.bytes(1, new ProtoWriter()
        .bytes(1, entry.cid)
        .uint(2, entry.priority)
        .uint(3, entry.cancel)
        .uint(4, entry.wantType)
        .uint(5, entry.sendDontHave)
        .finish())
    }
    wantlist.uint(2, message.wantlist.full)
    writer.bytes(1, wantlist.finish())
  }
  for (const block of message.rawBlocks) writer.bytes(2, block)
  // nested messages are written in place: a block's bytes are copied once
  for (const block of message.payload) writer.message(3, new ProtoWriter().bytes(1, block.prefix).bytes(2, block.data))
  for (const presence of message.blockPresences) writer.message(4, new ProtoWriter().bytes(1, presence.cid).uint(2, presence.type))
  writer.uint(5, message.pendingBytes)
  return writer.finish()
}

/** Decodes a message; throws RangeError on malformed input. Unknown fields are ignored. */
export function decodeMessage (bytes: Uint8Array): BitswapMessage {
  const message = emptyMessage()
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.wireType === WireType.LENGTH_DELIMITED) {
      for (const w of readFields(f.bytes)) {
        if (w.field === 1 && w.wireType === WireType.LENGTH_DELIMITED) message.wantlist.entries.push(decodeEntry(w.bytes))
        else if (w.field === 2 && w.wireType === WireType.VARINT) message.wantlist.full = w.uint !== 0
      }
    } else if (f.field === 2 && f.wireType === WireType.LENGTH_DELIMITED) {
      message.rawBlocks.push(f.bytes)
    } else if (f.field === 3 && f.wireType === WireType.LENGTH_DELIMITED) {
      const block: BlockPayload = { prefix: new Uint8Array(0), data: new Uint8Array(0) }
      for (const b of readFields(f.bytes)) {
        if (b.field === 1 && b.wireType === WireType.LENGTH_DELIMITED) block.prefix = b.bytes
        else if (b.field === 2 && b.wireType === WireType.LENGTH_DELIMITED) block.data = b.bytes
      }
      message.payload.push(block)
    } else if (f.field === 4 && f.wireType === WireType.LENGTH_DELIMITED) {
      const presence: BlockPresence = { cid: new Uint8Array(0), type: BlockPresenceType.HAVE }
      for (const p of readFields(f.bytes)) {
        if (p.field === 1 && p.wireType === WireType.LENGTH_DELIMITED) presence.cid = p.bytes
        else if (p.field === 2 && p.wireType === WireType.VARINT) presence.type = p.uint
      }
      message.blockPresences.push(presence)
    } else if (f.field === 5 && f.wireType === WireType.VARINT) {
      message.pendingBytes = f.uint
    }
  }
  return message
}

function decodeEntry (bytes: Uint8Array): WantlistEntry {
  const entry: WantlistEntry = { cid: new Uint8Array(0), priority: 1, cancel: false, wantType: WantType.BLOCK, sendDontHave: false }
  for (const e of readFields(bytes)) {
    if (e.field === 1 && e.wireType === WireType.LENGTH_DELIMITED) entry.cid = e.bytes
    else if (e.field === 2 && e.wireType === WireType.VARINT) entry.priority = e.uint
    else if (e.field === 3 && e.wireType === WireType.VARINT) entry.cancel = e.uint !== 0
    else if (e.field === 4 && e.wireType === WireType.VARINT) entry.wantType = e.uint
    else if (e.field === 5 && e.wireType === WireType.VARINT) entry.sendDontHave = e.uint !== 0
  }
  return entry
}
