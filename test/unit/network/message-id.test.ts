import { describe, expect, it } from 'vitest'
import { homestarMessageId, rustDefaultHashBytes, sipHash } from '../../../src/network/message-id.js'

const seq = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i)

describe('network: gossip message id (SipHash)', () => {
  // SipHash-2-4 reference vectors (key 00..0f, message 00..n-1) from the SipHash paper's implementation.
  it.each([
    [0, 0x726fdb47dd0e0e31n],
    [1, 0x74f839c593dc67fdn],
    [7, 0xab0200f58b01d137n],
    [8, 0x93f5f5799a932462n],
    [15, 0xa129ca6149be45e5n],
    [16, 0x3f2acc7f57c29bdbn],
    [63, 0x958a324ceb064572n]
  ])('SipHash-2-4 of %i bytes matches the reference', (length, expected) => {
    expect(sipHash(seq(length), seq(16), 2, 4)).toBe(expected)
  })

  // SipHash-1-3 with a zero key (Rust's DefaultHasher) from the reference implementation.
  it.each([
    [0, 0xd1fba762150c532cn],
    [1, 0x68a914128e01e473n],
    [2, 0x10bac45c41e3669n],
    [8, 0xead411e67ebe2eean],
    [15, 0xf30eb725bb91c9ean],
    [16, 0x8972188433a5c5b7n],
    [19, 0x91f4a3329f87d19n],
    [32, 0x31ef8061c910629bn]
  ])('SipHash-1-3 (zero key) of %i bytes matches the reference', (length, expected) => {
    expect(sipHash(seq(length), new Uint8Array(16), 1, 3)).toBe(expected)
  })

  it('hashes a Vec<u8> as u64_le(len) followed by the bytes', () => {
    // u64_le(8) ‖ 00..07 is the 16-byte sequence 08 00 .. 00 00 01 .. 07.
    const data = seq(8)
    const prefixed = new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, ...data])
    expect(rustDefaultHashBytes(data)).toBe(sipHash(prefixed, new Uint8Array(16), 1, 3))
    expect(rustDefaultHashBytes(new Uint8Array(0))).toBe(sipHash(new Uint8Array(8), new Uint8Array(16), 1, 3))
  })

  it('gives the decimal string of the hash as the message id', () => {
    const data = new TextEncoder().encode('receipt bytes')
    const id = new TextDecoder().decode(homestarMessageId(data))
    expect(id).toMatch(/^\d{1,20}$/)
    expect(BigInt(id)).toBe(rustDefaultHashBytes(data))
    expect(homestarMessageId(data)).toEqual(homestarMessageId(new TextEncoder().encode('receipt bytes')))
  })

  it('hashes a large message (its speed is not asserted: a loaded machine may be slow)', () => {
    const big = new Uint8Array(1024 * 1024).fill(7)
    const id = rustDefaultHashBytes(big)
    expect(id).toBe(rustDefaultHashBytes(new Uint8Array(1024 * 1024).fill(7)))
    expect(id).not.toBe(rustDefaultHashBytes(new Uint8Array(1024 * 1024).fill(8)))
  })
})
