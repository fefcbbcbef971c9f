import { randomBytes } from 'node:crypto'
import { identity } from 'multiformats/hashes/identity'
import { describe, expect, it } from 'vitest'
import { CID, cidOf, cidOfBytes, cidText, DAG_CBOR_CODE, decode, encode, parseCid, sha3256, SHA3_256_CODE, type Ipld } from '../../../src/ipld/index.js'

describe('cidText', () => {
  it('is the CID\'s string, which parses back to the same CID', () => {
    for (const value of [{ tasks: [] }, 'x', 1]) {
      const cid = cidOf(value)
      const text = cidText(cid)
      expect(text).toBe(cid.toString())
      expect(parseCid(text).equals(cid)).toBe(true)
    }
  })

  it('is the string multiformats writes for CIDs of every length (each remainder of bits) and for a CIDv0', () => {
    for (let length = 0; length <= 40; length++) {
      for (let n = 0; n < 5; n++) {
        const cid = CID.createV1(0x55, identity.digest(randomBytes(length)))
        expect(cidText(cid)).toBe(cid.toString())
      }
    }
    const v0 = CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n')
    expect(cidText(v0)).toBe('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n')
  })
})

describe('cidOfBytes', () => {
  it('is the CID multiformats builds, on one buffer that its bytes, multihash and digest share', () => {
    for (const value of [{ tasks: [] }, 'x', 1, { a: [1, 2, 3] }] as Ipld[]) {
      const bytes = encode(value)
      const digest = sha3256.digest(bytes)
      if (digest instanceof Promise) throw new Error('async hasher')
      const reference = CID.createV1(DAG_CBOR_CODE, digest)
      const cid = cidOfBytes(bytes)
      expect(cid.toString()).toBe(reference.toString())
      expect(cid.bytes).toEqual(reference.bytes)
      expect(cid.multihash.bytes).toEqual(reference.multihash.bytes)
      expect(cid.multihash.digest).toEqual(reference.multihash.digest)
      expect([cid.multihash.code, cid.multihash.size, cid.code, cid.version]).toEqual([SHA3_256_CODE, 32, DAG_CBOR_CODE, 1])
      expect(cid.equals(reference) && reference.equals(cid)).toBe(true)
      expect(CID.asCID(cid)).toBe(cid)
      expect(decode(encode({ link: cid }))).toEqual({ link: reference })
      expect(new Set([cid.bytes.buffer, cid.multihash.bytes.buffer, cid.multihash.digest.buffer]).size).toBe(1)
      expect(cid.bytes.buffer.byteLength).toBe(36)
    }
  })
})
