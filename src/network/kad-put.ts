import type { Libp2p, PeerId } from '@libp2p/interface'
import { Record } from '@libp2p/kad-dht'
import { equals } from 'multiformats/bytes'
import { lengthPrefixed, readLengthPrefixed } from './wire/framing.js'
import { ProtoWriter, readFields, WireType } from './wire/protobuf.js'

/** Kademlia `Message` fields (the dht.proto of go-libp2p-kad-dht / js kad-dht). */
const FIELD_TYPE = 1
const FIELD_KEY = 2
const FIELD_RECORD = 3
const MESSAGE_TYPE_PUT_VALUE = 0
const MESSAGE_TYPE_GET_VALUE = 1
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024

/**
 * Sends one PUT_VALUE to a given peer on the Kademlia protocol and waits for its echo. Used to
 * reach peers the iterative lookup skipped: kad-dht stops a lookup path as soon as a response
 * names no peer closer to the key, so on a small network it may store a record on fewer peers
 * than Kademlia's replication factor would (rust-libp2p, as in Homestar, stores on all K closest).
 * Returns true when the peer stored the record (it runs its validators first).
 */
export async function putValueTo (libp2p: Libp2p, peer: PeerId, protocol: string, key: Uint8Array, value: Uint8Array, signal: AbortSignal): Promise<boolean> {
  const record = new Record(key, value, new Date()).serialize()
  const request = new ProtoWriter().uint(FIELD_TYPE, MESSAGE_TYPE_PUT_VALUE).bytes(FIELD_KEY, key).bytes(FIELD_RECORD, record).finish()
  const stream = await libp2p.dialProtocol(peer, protocol, { signal })
  try {
    if (!stream.send(lengthPrefixed(request))) await stream.onDrain({ signal })
    for await (const response of readLengthPrefixed(stream, MAX_RESPONSE_BYTES)) {
      for (const field of readFields(response)) {
        if (field.field === FIELD_RECORD && field.wireType === WireType.LENGTH_DELIMITED) {
          const echoed = Record.deserialize(field.bytes)
          await stream.close({ signal }).catch(() => {})
          return equals(echoed.key, key) && equals(echoed.value, value)
        }
      }
      break
    }
    await stream.close({ signal }).catch(() => {})
    return false
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/**
 * Sends one GET_VALUE for `key` to a given peer on the Kademlia protocol and returns the
 * value of the record it answers with (not validated), or undefined when it has none. Used for
 * keys kad-dht's own lookup refuses (Homestar keys receipt records by the bare instruction CID,
 * without the `/<namespace>/` kad-dht requires).
 */
export async function getValueFrom (libp2p: Libp2p, peer: PeerId, protocol: string, key: Uint8Array, signal: AbortSignal, maxBytes = MAX_RESPONSE_BYTES): Promise<Uint8Array | undefined> {
  const request = new ProtoWriter().uint(FIELD_TYPE, MESSAGE_TYPE_GET_VALUE).bytes(FIELD_KEY, key).finish()
  const stream = await libp2p.dialProtocol(peer, protocol, { signal })
  try {
    if (!stream.send(lengthPrefixed(request))) await stream.onDrain({ signal })
    let value: Uint8Array | undefined
    for await (const response of readLengthPrefixed(stream, maxBytes)) {
      for (const field of readFields(response)) {
        if (field.field === FIELD_RECORD && field.wireType === WireType.LENGTH_DELIMITED) {
          const record = Record.deserialize(field.bytes)
          if (equals(record.key, key)) value = record.value
        }
      }
      break
    }
    await stream.close({ signal }).catch(() => {})
    return value
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
