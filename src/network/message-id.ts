/**
 * Homestar's gossipsub message id: the decimal string of Rust's `DefaultHasher`
 * (SipHash-1-3 with both keys 0) over the message data hashed as a `Vec<u8>`, which is
 * `u64_le(len) ‖ data`. Matching it lets IHAVE/IWANT gossip refer to the same ids as Homestar.
 */

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

// 64-bit lanes as [hi, lo] 32-bit words: v0 = s[0..1], v1 = s[2..3], v2 = s[4..5], v3 = s[6..7].
function add (s: Uint32Array, a: number, b: number): void {
  const lo = s[a + 1] + s[b + 1]
  s[a + 1] = lo
  s[a] = s[a] + s[b] + (lo > 0xffffffff ? 1 : 0)
}

function rotl (s: Uint32Array, a: number, n: number): void {
  const hi = s[a]
  const lo = s[a + 1]
  s[a] = (hi << n) | (lo >>> (32 - n))
  s[a + 1] = (lo << n) | (hi >>> (32 - n))
}

function swap (s: Uint32Array, a: number): void {
  const hi = s[a]
  s[a] = s[a + 1]
  s[a + 1] = hi
}

function xor (s: Uint32Array, a: number, b: number): void {
  s[a] ^= s[b]
  s[a + 1] ^= s[b + 1]
}

function sipRound (s: Uint32Array): void {
  add(s, 0, 2); rotl(s, 2, 13); xor(s, 2, 0); swap(s, 0)
  add(s, 4, 6); rotl(s, 6, 16); xor(s, 6, 4)
  add(s, 0, 6); rotl(s, 6, 21); xor(s, 6, 0)
  add(s, 4, 2); rotl(s, 2, 17); xor(s, 2, 4); swap(s, 4)
}

function readWord (bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0
}

function compress (s: Uint32Array, hi: number, lo: number, rounds: number): void {
  s[6] ^= hi; s[7] ^= lo
  for (let i = 0; i < rounds; i++) sipRound(s)
  s[0] ^= hi; s[1] ^= lo
}

/**
 * SipHash-c-d of `data` under the 16-byte `key` (k0 = first 8 bytes, little-endian).
 * Returns the 64-bit result as an unsigned bigint.
 */
export function sipHash (data: Uint8Array, key: Uint8Array = new Uint8Array(16), cRounds = 2, dRounds = 4): bigint {
  if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes')
  const k0lo = readWord(key, 0); const k0hi = readWord(key, 4)
  const k1lo = readWord(key, 8); const k1hi = readWord(key, 12)
  const s = new Uint32Array([
    0x736f6d65 ^ k0hi, 0x70736575 ^ k0lo,
    0x646f7261 ^ k1hi, 0x6e646f6d ^ k1lo,
    0x6c796765 ^ k0hi, 0x6e657261 ^ k0lo,
    0x74656462 ^ k1hi, 0x79746573 ^ k1lo
  ])
  const whole = data.length - (data.length % 8)
  for (let i = 0; i < whole; i += 8) compress(s, readWord(data, i + 4), readWord(data, i), cRounds)
  const tail = new Uint8Array(8)
  tail.set(data.subarray(whole))
  tail[7] = data.length & 0xff
  compress(s, readWord(tail, 4), readWord(tail, 0), cRounds)
  s[5] ^= 0xff
  for (let i = 0; i < dRounds; i++) sipRound(s)
  const hi = (s[0] ^ s[2] ^ s[4] ^ s[6]) >>> 0
  const lo = (s[1] ^ s[3] ^ s[5] ^ s[7]) >>> 0
  return (BigInt(hi) << 32n) | BigInt(lo)
}

/** Rust's `DefaultHasher::new()` over a `Vec<u8>` (length prefix, then the bytes). */
export function rustDefaultHashBytes (data: Uint8Array): bigint {
  const input = new Uint8Array(8 + data.length)
  new DataView(input.buffer).setBigUint64(0, BigInt(data.length), true)
  input.set(data, 8)
  return sipHash(input, new Uint8Array(16), 1, 3)
}

/** Gossipsub message id of `data` as Homestar computes it (UTF-8 of the decimal hash). */
export function homestarMessageId (data: Uint8Array): Uint8Array {
  return textEncoder.encode(rustDefaultHashBytes(data).toString(10))
}

/** The message id as the string gossipsub keeps in its caches. */
export function messageIdToString (id: Uint8Array): string {
  return textDecoder.decode(id)
}
