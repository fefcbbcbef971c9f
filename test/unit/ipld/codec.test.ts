import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha3256Native, sha3256Noble } from '../../../src/ipld/cid.js'
import {
  CID, Float, IpldErrorCode, cidFromBytes, cidIn, kindOf, parseJson, toDagJson, cidOf, cidOfBytes, decode, encode, isHomestarCid, parseCid, tryParseCid, type Ipld
} from '../../../src/ipld/index.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'))

describe('encode: canonical DAG-CBOR like libipld', () => {
  it.each<[Ipld, string]>([
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65536, '1a00010000'],
    [4294967296, '1b0000000100000000'],
    [18446744073709551615n, '1bffffffffffffffff'],
    [-1, '20'],
    [-25, '3818'],
    [-18446744073709551616n, '3bffffffffffffffff'],
    [new Float(1), 'fb3ff0000000000000'],
    [new Float(0), 'fb0000000000000000'],
    [new Float(-0), 'fb8000000000000000'],
    [1.5, 'fb3ff8000000000000'],
    [0.1, 'fb3fb999999999999a'],
    [null, 'f6'],
    [true, 'f5'],
    [false, 'f4'],
    ['', '60'],
    ['a', '6161'],
    [new Uint8Array([1, 2]), '420102'],
    [[], '80'],
    [{}, 'a0']
  ])('%o -> %s', (value, expected) => {
    expect(hex(encode(value))).toBe(expected)
  })

  it('orders map keys length-first, then bytewise', () => {
    const bytes = encode({ input: 1, rsc: 2, op: 3, nnc: 4 })
    const keys = Object.keys(decode(bytes) as object)
    expect(keys).toEqual(['op', 'nnc', 'rsc', 'input'])
    expect(Object.keys(decode(encode({ cause: 1, meta: 2, run: 3, prf: 4 })) as object)).toEqual(['prf', 'run', 'meta', 'cause'])
  })

  it('writes a link as tag 42 over 00 ‖ cid bytes', () => {
    const cid = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
    expect(hex(encode(cid))).toBe('d82a5825' + '00' + hex(cid.bytes))
  })

  it.each<[string, unknown]>([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a non-finite Float', new Float(Infinity)],
    ['undefined', undefined],
    ['a map entry set to undefined', { a: undefined }],
    ['an integer above u64', 2n ** 64n],
    ['an integer below -2^64', -(2n ** 64n) - 1n],
    ['a Map', new Map([['a', 1]])],
    ['a symbol', Symbol('x')]
  ])('refuses %s', (_name, value) => {
    expect(() => encode(value as Ipld)).toThrow(expect.objectContaining({ code: IpldErrorCode.ENCODE }))
  })
})

describe('decode', () => {
  it('reads whole-number floats back as Float and keeps bigints', () => {
    expect(decode(unhex('fb3ff0000000000000'))).toEqual(new Float(1))
    expect(decode(unhex('fb3ff8000000000000'))).toBe(1.5)
    expect(decode(unhex('1bffffffffffffffff'))).toBe(18446744073709551615n)
    expect(decode(unhex('1b0000000100000000'))).toBe(4294967296)
  })

  it('reads a link', () => {
    const cid = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
    expect(CID.asCID((decode(encode({ l: cid })) as Record<string, Ipld>).l)?.equals(cid)).toBe(true)
  })

  it.each([
    ['non-minimal integer', '1817'],
    ['indefinite-length list', '9f01ff'],
    ['duplicate map key', 'a2616101616102'],
    ['unknown tag', 'd82b00'],
    ['link without the 00 prefix', 'd82a420102'],
    ['truncated input', '1a0001'],
    ['trailing bytes', '0000'],
    ['non-string map key', 'a10101'],
    ['empty input', '']
  ])('rejects %s', (_name, bytes) => {
    expect(() => decode(unhex(bytes))).toThrow(expect.objectContaining({ code: IpldErrorCode.DECODE }))
  })
})

describe('CIDs', () => {
  it('cidOf is CIDv1 dag-cbor sha3-256 of the canonical bytes', () => {
    const value = { a: 1, b: [new Float(2)] }
    const cid = cidOf(value)
    expect(cid.toString().startsWith('bafyrmi')).toBe(true)
    expect(isHomestarCid(cid)).toBe(true)
    expect(cid.equals(cidOfBytes(encode(value)))).toBe(true)
    expect(hex(cid.bytes.subarray(0, 4))).toBe('01711620')
    expect(cidFromBytes(cid.bytes).equals(cid)).toBe(true)
    // the digest is OpenSSL's sha3-256 of the DAG-CBOR bytes
    expect(hex(cid.multihash.digest)).toBe(createHash('sha3-256').update(encode(value)).digest('hex'))
  })

  it('parses CID strings like Rust Cid::try_from', () => {
    const v1 = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'
    const cid = CID.parse(v1)
    expect(tryParseCid(v1)?.equals(cid)).toBe(true)
    expect(tryParseCid('/ipfs/' + v1)?.equals(cid)).toBe(true)
    expect(tryParseCid('https://ipfs.io/ipfs/' + v1)?.equals(cid)).toBe(true)
    expect(tryParseCid('B' + v1.slice(1).toUpperCase())?.equals(cid)).toBe(true)
    expect(tryParseCid('f' + hex(cid.bytes))?.equals(cid)).toBe(true)
    expect(tryParseCid('m' + Buffer.from(cid.bytes).toString('base64').replace(/=+$/, ''))?.equals(cid)).toBe(true)
    expect(tryParseCid('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n')?.version).toBe(0)
    for (const bad of ['', 'b', 'hello world', 'bafy!', 'Qm123', 'null']) expect(tryParseCid(bad)).toBeUndefined()
    expect(() => parseCid('nope')).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_CID }))
    expect(() => cidFromBytes(new Uint8Array([1, 2]))).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_CID }))
  })
})

describe('sha3-256 implementations', () => {
  it('OpenSSL and @noble/hashes agree (the hasher uses the former when present)', () => {
    expect(sha3256Native).toBeDefined()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      expect(hex(sha3256Native!(bytes))).toBe(hex(sha3256Noble(bytes)))
    }), { numRuns: 200 })
    // FIPS 202 test vector: sha3-256("abc")
    expect(hex(sha3256Noble(new TextEncoder().encode('abc')))).toBe('3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532')
  })
})

describe('maps that look like a CID to multiformats', () => {
  // CID.asCID takes any object whose `/` entry is its `bytes` entry for a CID and then throws on
  // those bytes; found by the property tests' random maps
  it.each<[string, Ipld]>([
    ['numbers', { '/': 1, bytes: 1 }],
    ['strings', { '/': 'x', bytes: 'x' }]
  ])('a map whose "/" and "bytes" are the same %s is a map: kind, DAG-CBOR and DAG-JSON round trips', (_name, map) => {
    expect(kindOf(map)).toBe('map')
    expect(cidIn(map)).toBeNull()
    expect(decode(encode(map))).toEqual(map)
    expect(parseJson(toDagJson({ wrapped: map }))).toEqual({ wrapped: map })
  })
})
