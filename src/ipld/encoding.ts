/**
 * The two text encodings of bytes that Homestar's formats use, both strict the way the
 * Rust `data-encoding` crate is: no padding, no characters outside the alphabet, and
 * unused trailing bits must be zero. Decoders return `undefined` on invalid input.
 */

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B32HEX_ALPHABET = '0123456789abcdefghijklmnopqrstuv'

function decodeTable (alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i
  return table
}
const B64_TABLE = decodeTable(B64_ALPHABET)
const B32HEX_TABLE = decodeTable(B32HEX_ALPHABET)
const B32HEX_BYTES = Buffer.from(B32HEX_ALPHABET, 'latin1')
/** RFC 4648 base32, lowercase: multibase `b`, the text of every CIDv1 by default. */
const B32_BYTES = Buffer.from('abcdefghijklmnopqrstuvwxyz234567', 'latin1')

/** Standard-alphabet base64 without padding (multibase `Base64` without its `m` prefix). */
export function base64Encode (bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--
  return end === text.length ? text : text.slice(0, end)
}

/** Strict inverse of {@link base64Encode}: padding, whitespace and non-zero trailing bits are rejected. */
export function base64Decode (text: string): Uint8Array | undefined {
  const n = text.length
  if (n % 4 === 1) return undefined
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || B64_TABLE[c] < 0) return undefined
  }
  if (n % 4 !== 0) {
    const last = B64_TABLE[text.charCodeAt(n - 1)]
    // 2 chars carry 12 bits for 1 byte (4 spare), 3 chars carry 18 bits for 2 bytes (2 spare)
    const spareMask = n % 4 === 2 ? 0x0f : 0x03
    if ((last & spareMask) !== 0) return undefined
  }
  const buf = Buffer.from(text, 'base64')
  const out = new Uint8Array(buf.length)
  out.set(buf)
  return out
}

/** RFC 4648 base32hex, lowercase, without padding (multibase `Base32HexLower` without its `v` prefix). */
export function base32HexEncode (bytes: Uint8Array): string {
  return base32With(B32HEX_BYTES, bytes)
}

/** Multibase `b` and RFC 4648 base32, lowercase, without padding: what `base32.encode` gives, and a CIDv1's text. */
export function base32Multibase (bytes: Uint8Array): string {
  return base32With(B32_BYTES, bytes, 98 /* b */)
}

/**
 * Unpadded base32 of `bytes` in `alphabet`, after the character `prefix` when given. Written
 * into a buffer and read out as one flat string: text built a character at a time is kept by
 * V8 as a tree of pieces (about 1.5 kB for a CID's 59 characters) until something flattens it.
 */
function base32With (alphabet: Buffer, bytes: Uint8Array, prefix?: number): string {
  const out = Buffer.allocUnsafe((prefix === undefined ? 0 : 1) + Math.ceil((bytes.length * 8) / 5))
  let j = 0
  if (prefix !== undefined) out[j++] = prefix
  let buffer = 0
  let bits = 0
  for (let i = 0; i < bytes.length; i++) {
    buffer = (buffer << 8) | bytes[i]
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out[j++] = alphabet[(buffer >>> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out[j++] = alphabet[(buffer << (5 - bits)) & 31]
  return out.toString('latin1', 0, j)
}

/** Strict inverse of {@link base32HexEncode}: uppercase, padding and non-zero trailing bits are rejected. */
export function base32HexDecode (text: string): Uint8Array | undefined {
  const n = text.length
  const rem = n % 8
  if (rem === 1 || rem === 3 || rem === 6) return undefined
  const out = new Uint8Array(Math.floor((n * 5) / 8))
  let buffer = 0
  let bits = 0
  let j = 0
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? B32HEX_TABLE[c] : -1
    if (v < 0) return undefined
    buffer = ((buffer << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[j++] = (buffer >>> bits) & 0xff
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) return undefined
  return out
}
