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
  // chunks are kept as they come and joined once a whole message is there
  const chunks: Uint8Array[] = []
  let buffered = 0
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    if (bytes.length === 0) continue
    chunks.push(bytes)
    buffered += bytes.length
    while (buffered > 0) {
      const head = chunks[0].length >= 10 || chunks.length === 1 ? chunks[0] : join(chunks, Math.min(buffered, 10))
      let length: number
      let start: number
      try {
        [length, start] = decodeVarint(head, 0)
      } catch (err) {
        if (buffered < 10) break // the length itself is still arriving
        throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'malformed length prefix', undefined, { cause: err })
      }
      if (length > maxLength) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `message of ${length} bytes exceeds ${maxLength}`)
      if (buffered < start + length) break
      // the message is copied once, out of the chunks, into a plain Uint8Array of its own
      take(chunks, start)
      const message = take(chunks, length, new Uint8Array(length))
      buffered -= start + length
      yield message
    }
  }
  if (buffered > 0) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'stream ended inside a message')
}

/** The first `length` bytes of `chunks`, in one array. */
function join (chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    if (offset >= length) break
    const part = chunk.subarray(0, length - offset)
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Removes the first `length` bytes from `chunks`, copying them into `into` when given. */
function take (chunks: Uint8Array[], length: number, into?: Uint8Array): Uint8Array {
  let offset = 0
  while (offset < length) {
    const chunk = chunks[0]
    const n = Math.min(chunk.length, length - offset)
    into?.set(chunk.subarray(0, n), offset)
    offset += n
    if (n < chunk.length) chunks[0] = chunk.subarray(n)
    else chunks.shift()
  }
  return into ?? new Uint8Array(0)
}

/** Writes one message and closes the stream for writing. */
export async function writeAndClose (stream: Stream, message: Uint8Array, signal?: AbortSignal): Promise<void> {
  const header: number[] = []
  encodeVarint(message.length, header)
  // the length and the message go out as two writes: a large message is not copied to prefix it
  if (!stream.send(Uint8Array.from(header))) await stream.onDrain({ signal })
  if (!stream.send(message)) await stream.onDrain({ signal })
  await stream.close({ signal })
}
