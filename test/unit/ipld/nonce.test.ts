import { describe, expect, it } from 'vitest'
import {
  IpldErrorCode, base32HexDecode, base32HexEncode, base64Decode, base64Encode, encode, normalizeNonce, parseInstruction, parseJson, randomNonce
} from '../../../src/ipld/index.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const bytes12 = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
const bytes16 = new Uint8Array(16).fill(0xab)

describe('normalizeNonce', () => {
  it('missing, "", and values that are neither string nor bytes are ""', () => {
    for (const value of [undefined, '', null, 5, true, [], {}]) expect(normalizeNonce(value as never)).toBe('')
  })

  it('keeps 12- and 16-byte bytes as bytes', () => {
    expect(normalizeNonce(bytes12)).toBe(bytes12)
    expect(normalizeNonce(bytes16)).toBe(bytes16)
  })

  it.each([0, 1, 11, 13, 15, 17, 32])('rejects %d bytes', (n) => {
    expect(() => normalizeNonce(new Uint8Array(n))).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_NONCE }))
  })

  it('keeps a base32hex-lower string of 12 or 16 bytes as that string', () => {
    const s12 = base32HexEncode(bytes12)
    const s16 = base32HexEncode(bytes16)
    expect(s12).toHaveLength(20)
    expect(s16).toHaveLength(26)
    expect(normalizeNonce(s12)).toBe(s12)
    expect(normalizeNonce(s16)).toBe(s16)
  })

  it.each([
    ['uppercase', base32HexEncode(bytes12).toUpperCase()],
    ['padding', base32HexEncode(bytes12) + '===='],
    ['letters outside base32hex', 'wxyz'.repeat(5)],
    ['non-zero trailing bits', base32HexEncode(bytes12).slice(0, 19) + '1'],
    ['10 bytes', base32HexEncode(new Uint8Array(10))],
    ['20 bytes', base32HexEncode(new Uint8Array(20))],
    ['impossible length', 'abc']
  ])('rejects a string with %s', (_name, text) => {
    expect(() => normalizeNonce(text, 'tasks[0].run.nnc')).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_NONCE, data: { path: 'tasks[0].run.nnc' } }))
  })

  it('string and bytes nonces hash differently and encode as text and bytes', () => {
    const rsc = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'
    const base = { rsc, op: 'wasm/run', input: { func: 'f', args: [] } }
    const asString = parseInstruction({ ...base, nnc: base32HexEncode(bytes12) })
    const asBytes = parseInstruction(parseJson(JSON.stringify({ ...base, nnc: { '/': { bytes: base64Encode(bytes12) } } })))
    expect(asBytes.nnc).toEqual(bytes12)
    expect(asString.cid.equals(asBytes.cid)).toBe(false)
    expect(hex(encode(asString.ipld))).toContain('636e6e6374' + Buffer.from(base32HexEncode(bytes12)).toString('hex'))
    expect(hex(encode(asBytes.ipld))).toContain('636e6e634c' + hex(bytes12))
    expect(hex(encode(parseInstruction({ ...base, nnc: '' }).ipld))).toContain('636e6e6360')
  })

  it('randomNonce gives a valid 12- or 16-byte nonce', () => {
    expect(normalizeNonce(randomNonce())).toHaveLength(20)
    expect(normalizeNonce(randomNonce(16))).toHaveLength(26)
    expect(randomNonce()).not.toBe(randomNonce())
  })
})

describe('byte encodings', () => {
  it('base32hex round-trips every length and matches RFC 4648 vectors (lowercase, unpadded)', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'co'], ['fo', 'cpng'], ['foo', 'cpnmu'], ['foob', 'cpnmuog'], ['fooba', 'cpnmuoj1'], ['foobar', 'cpnmuoj1e8']]
    for (const [plain, encoded] of vectors) {
      expect(base32HexEncode(Buffer.from(plain))).toBe(encoded)
      expect(Buffer.from(base32HexDecode(encoded) ?? []).toString()).toBe(plain)
    }
  })

  it('base64 is standard alphabet without padding, strict on decode', () => {
    expect(base64Encode(new Uint8Array([0xfb, 0xff]))).toBe('+/8')
    expect(base64Decode('+/8')).toEqual(new Uint8Array([0xfb, 0xff]))
    for (const bad of ['+/8=', '+/9', 'A', '-_8', 'AQ\n']) expect(base64Decode(bad)).toBeUndefined()
  })
})
