/** The small part of protocol buffers the bitswap message needs: varints and length-delimited fields. */

export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const

export function encodeVarint (value: number, out: number[]): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`)
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80)
    value = Math.floor(value / 0x80)
  }
  out.push(value)
}

/**
 * Decodes an unsigned varint (up to 10 bytes) at `offset`; returns [value, next offset]. Values
 * above 2^53 lose precision (negative int32s arrive as 10-byte varints); lengths are bounds-checked
 * by the caller. Throws on truncation.
 */
export function decodeVarint (bytes: Uint8Array, offset: number): [number, number] {
  let value = 0
  let scale = 1
  for (let i = offset; i < bytes.length; i++) {
    const byte = bytes[i]
    value += (byte & 0x7f) * scale
    if (byte < 0x80) return [value, i + 1]
    scale *= 0x80
    if (i - offset >= 9) throw new RangeError('varint too long')
  }
  throw new RangeError('truncated varint')
}

export class ProtoWriter {
  private readonly parts: Uint8Array[] = []
  private length = 0

  private push (bytes: Uint8Array): void {
    this.parts.push(bytes)
    this.length += bytes.length
  }

  private key (field: number, wireType: number): void {
    const out: number[] = []
    encodeVarint(field * 8 + wireType, out)
    this.push(Uint8Array.from(out))
  }

  /** Writes a varint field; zero/false is omitted (proto3 default). */
  uint (field: number, value: number | boolean): this {
    const n = typeof value === 'boolean' ? (value ? 1 : 0) : value
    if (n === 0) return this
    this.key(field, WireType.VARINT)
    const out: number[] = []
    encodeVarint(n, out)
    this.push(Uint8Array.from(out))
    return this
  }

  bytes (field: number, value: Uint8Array): this {
    this.key(field, WireType.LENGTH_DELIMITED)
    const out: number[] = []
    encodeVarint(value.length, out)
    this.push(Uint8Array.from(out))
    this.push(value)
    return this
  }

  /** Writes a nested message; its bytes are copied once, by the outermost `finish`. */
  message (field: number, value: ProtoWriter): this {
    this.key(field, WireType.LENGTH_DELIMITED)
    const out: number[] = []
    encodeVarint(value.length, out)
    this.push(Uint8Array.from(out))
    for (const part of value.parts) this.parts.push(part)
    this.length += value.length
    return this
  }

  finish (): Uint8Array {
    const result = new Uint8Array(this.length)
    let offset = 0
    for (const part of this.parts) {
      result.set(part, offset)
      offset += part.length
    }
    return result
  }
}

export interface ProtoField {
  field: number
  wireType: number
  /** The varint value (wire type 0). */
  uint: number
  /** The payload (wire type 2). */
  bytes: Uint8Array
}

/** Iterates the fields of a message; unknown fixed-width fields are skipped by the caller's switch. */
export function * readFields (bytes: Uint8Array): Generator<ProtoField> {
  let offset = 0
  while (offset < bytes.length) {
    const [key, afterKey] = decodeVarint(bytes, offset)
    const field = Math.floor(key / 8)
    const wireType = key % 8
    offset = afterKey
    if (field === 0) throw new RangeError('field number 0')
    switch (wireType) {
      case WireType.VARINT: {
        const [value, next] = decodeVarint(bytes, offset)
        offset = next
        yield { field, wireType, uint: value, bytes: new Uint8Array(0) }
        break
      }
      case WireType.LENGTH_DELIMITED: {
        const [length, start] = decodeVarint(bytes, offset)
        if (start + length > bytes.length) throw new RangeError('truncated field')
        offset = start + length
        yield { field, wireType, uint: 0, bytes: bytes.subarray(start, offset) }
        break
      }
      case WireType.FIXED64:
        if (offset + 8 > bytes.length) throw new RangeError('truncated field')
        offset += 8
        break
      case WireType.FIXED32:
        if (offset + 4 > bytes.length) throw new RangeError('truncated field')
        offset += 4
        break
      default:
        throw new RangeError(`unsupported wire type ${wireType}`)
    }
  }
}
