import type { Stream } from '@libp2p/interface'
import { NetworkError, NetworkErrorCode } from '../errors.js'
import { decodeVarint, encodeVarint } from './protobuf.js'

/** Prefixes a message with its unsigned-varint length. */
export function lengthPrefixed (message: Uint8Array): Uint8Array {
  const header: number[] = []
  encodeVarint(message.length, header)
  const out = new Uint8Array(header.length + message.length)
  out.set(header)
  out.set(message, header.length)
  return out
}

/**
 * Reads varint-length-prefixed messages from a stream until it ends. A message longer than
 * `maxLength` aborts with `NETWORK_INVALID_MESSAGE`.
 */
export async function * readLengthPrefixed (stream: AsyncIterable<{ subarray(): Uint8Array }>, maxLength: number): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(0)
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    const joined = new Uint8Array(buffer.length + bytes.length)
    joined.set(buffer)
    joined.set(bytes, buffer.length)
    buffer = joined
    while (buffer.length > 0) {
      let length: number
      let start: number
      try {
        [length, start] = decodeVarint(buffer, 0)
      } catch (err) {
        if (buffer.length < 10) break // the length itself is still arriving
        throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'malformed length prefix', undefined, { cause: err })
      }
      if (length > maxLength) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `message of ${length} bytes exceeds ${maxLength}`)
      if (buffer.length < start + length) break
      yield buffer.slice(start, start + length)
      buffer = buffer.subarray(start + length)
    }
  }
  if (buffer.length > 0) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'stream ended inside a message')
}

/** Writes one message and closes the stream for writing. */
export async function writeAndClose (stream: Stream, message: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(lengthPrefixed(message))) await stream.onDrain({ signal })
  await stream.close({ signal })
}
