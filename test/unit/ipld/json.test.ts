import { describe, expect, it } from 'vitest'
import { CID, Float, IpldError, IpldErrorCode, parseJson, type Ipld, type IpldMap } from '../../../src/ipld/index.js'

const LINK = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'

function errorOf (fn: () => unknown): IpldError {
  try {
    fn()
  } catch (err) {
    if (err instanceof IpldError) return err
    throw err
  }
  throw new Error('expected an IpldError')
}

describe('parseJson numbers (serde_json semantics)', () => {
  it.each<[string, Ipld]>([
    ['0', 0],
    ['1', 1],
    ['-1', -1],
    ['123456789012345', 123456789012345],
    ['9007199254740991', 9007199254740991],
    ['-9007199254740991', -9007199254740991],
    ['9007199254740992', 9007199254740992n],
    ['18446744073709551615', 18446744073709551615n],
    ['-9223372036854775808', -9223372036854775808n]
  ])('integer literal %s is an integer', (text, expected) => {
    expect(parseJson(text)).toEqual(expected)
  })

  it('integer literals beyond u64::MAX or below i64::MIN become floats (correctly rounded)', () => {
    expect(parseJson('18446744073709551616')).toEqual(new Float(2 ** 64))
    expect(parseJson('18446744073709552000')).toEqual(new Float(2 ** 64))
    expect(parseJson('-9223372036854775809')).toEqual(new Float(-(2 ** 63)))
    expect(parseJson('100000000000000000000000')).toEqual(new Float(1e23))
  })

  it('-0 is the float -0.0', () => {
    const v = parseJson('-0')
    expect(v).toBeInstanceOf(Float)
    expect(Object.is((v as Float).value, -0)).toBe(true)
    expect(Object.is((parseJson('-0.0') as Float).value, -0)).toBe(true)
  })

  it('a fraction or an exponent makes a float, even with a whole value', () => {
    expect(parseJson('1.0')).toEqual(new Float(1))
    expect(parseJson('1e2')).toEqual(new Float(100))
    expect(parseJson('1E+2')).toEqual(new Float(100))
    expect(parseJson('0.0')).toEqual(new Float(0))
    expect(parseJson('1.5')).toBe(1.5)
    expect(parseJson('-2.5e-3')).toBe(-0.0025)
    expect(parseJson('1e-400')).toEqual(new Float(0))
    expect(parseJson('0.1')).toBe(0.1)
  })

  it('floats that overflow float64 are an error', () => {
    expect(errorOf(() => parseJson('1e400')).code).toBe(IpldErrorCode.JSON_NUMBER_RANGE)
    expect(errorOf(() => parseJson('-' + '9'.repeat(400))).code).toBe(IpldErrorCode.JSON_NUMBER_RANGE)
  })

  it.each(['01', '-', '1.', '.5', '+1', '1e', '1e+', '-a', '0x10', 'NaN', 'Infinity', '1.e3'])('rejects malformed number %s', (text) => {
    expect(errorOf(() => parseJson(text)).code).toBe(IpldErrorCode.JSON_SYNTAX)
  })
})

describe('parseJson links and bytes', () => {
  it('{"/": cid} is a link, in any multibase and as CIDv0', () => {
    const link = parseJson(`{"/":"${LINK}"}`)
    expect(CID.asCID(link)?.toString()).toBe(LINK)
    const v0 = parseJson('{"/":"QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"}')
    expect(CID.asCID(v0)?.version).toBe(0)
    const cid = CID.parse(LINK)
    const b16 = 'f' + Buffer.from(cid.bytes).toString('hex')
    expect(CID.asCID(parseJson(`{"/":"${b16}"}`))?.toString()).toBe(LINK)
  })

  it('an invalid CID rejects the whole document with its position', () => {
    const err = errorOf(() => parseJson('{"a": [1, {"/": "notacid"}]}'))
    expect(err.code).toBe(IpldErrorCode.INVALID_CID)
    expect(err.data).toMatchObject({ line: 1, column: 11 })
  })

  it('a "/" map with other entries (or duplicates) is a plain map', () => {
    expect(parseJson(`{"/":"${LINK}","x":1}`)).toEqual({ '/': LINK, x: 1 })
    expect(parseJson('{"/":"x","/":"y"}')).toEqual({ '/': 'y' })
    expect(parseJson('{"/": 5}')).toEqual({ '/': 5 })
  })

  it('{"/": {"bytes": b64}} is bytes (standard alphabet, no padding)', () => {
    expect(parseJson('{"/":{"bytes":"AQID"}}')).toEqual(new Uint8Array([1, 2, 3]))
    expect(parseJson('{"/":{"bytes":""}}')).toEqual(new Uint8Array(0))
    expect(parseJson('{"/":{"bytes":"+/8"}}')).toEqual(new Uint8Array([0xfb, 0xff]))
  })

  it('bytes: other inner keys after "bytes" in sorted order are ignored; keys before it make a map', () => {
    expect(parseJson('{"/":{"bytes":"AQ","zz":1}}')).toEqual(new Uint8Array([1]))
    expect(parseJson('{"/":{"a":1,"bytes":"AQ"}}')).toEqual({ '/': { a: 1, bytes: 'AQ' } })
    expect(parseJson('{"/":{"bytes":5}}')).toEqual({ '/': { bytes: 5 } })
  })

  it.each(['AQ==', 'AR', 'A', 'A-_', 'AQ '])('rejects invalid base64 %j', (b64) => {
    expect(errorOf(() => parseJson(`{"/":{"bytes":"${b64}"}}`)).code).toBe(IpldErrorCode.INVALID_BYTES)
  })
})

describe('parseJson structure', () => {
  it('reads nested values; duplicate keys: the last one wins', () => {
    expect(parseJson(' {"a" : [true, false, null, "x"], "b": {"c": {}} , "a": 1}\n')).toEqual({ a: 1, b: { c: {} } })
    expect(parseJson('[]')).toEqual([])
  })

  it('keeps __proto__ as an ordinary key', () => {
    const v = parseJson('{"__proto__": {"polluted": true}, "constructor": 1}') as IpldMap
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('decodes escapes and surrogate pairs', () => {
    expect(parseJson('"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"')).toBe('a"b\\c/d\b\f\n\r\té😀')
    expect(parseJson('"é😀"')).toBe('é😀')
  })

  it.each([
    ['"\\ud800"', 'lone leading surrogate'],
    ['"\\udc00"', 'lone trailing surrogate'],
    ['"\\ud800\\u0041"', 'high surrogate then non-surrogate'],
    ['"\\x"', 'invalid escape'],
    ['"\\u12"', 'short hex escape'],
    ['"a\nb"', 'raw control character'],
    ['"abc', 'unterminated string'],
    ['"\ud800"', 'raw lone surrogate']
  ])('rejects %s (%s)', (text) => {
    expect(errorOf(() => parseJson(text)).code).toBe(IpldErrorCode.JSON_SYNTAX)
  })

  it.each([
    '', '[1,]', '{"a":1,}', '{a:1}', '{"a" 1}', '[1 2]', 'tru', 'nul', '{"a":1} x', '\ufeff{}', "'a'", '[', '{"a":', '{"a":1'
  ])('rejects malformed document %j', (text) => {
    expect(errorOf(() => parseJson(text)).code).toBe(IpldErrorCode.JSON_SYNTAX)
  })

  it('reports line and column of syntax errors', () => {
    const err = errorOf(() => parseJson('{\n  "a": 1,\n  "b": ]\n}'))
    expect(err.code).toBe(IpldErrorCode.JSON_SYNTAX)
    expect(err.data).toEqual({ line: 3, column: 8, offset: 19 })
    expect(err.message).toMatch(/line 3 column 8/)
  })

  it('limits nesting to 127 levels by default, like serde_json', () => {
    expect(parseJson('['.repeat(127) + ']'.repeat(127))).toBeDefined()
    expect(errorOf(() => parseJson('['.repeat(128) + ']'.repeat(128))).code).toBe(IpldErrorCode.JSON_DEPTH)
    expect(errorOf(() => parseJson('[[[]]]', { maxDepth: 2 })).code).toBe(IpldErrorCode.JSON_DEPTH)
  })

  it('accepts UTF-8 bytes and rejects invalid UTF-8', () => {
    expect(parseJson(new TextEncoder().encode('{"é":1.0}'))).toEqual({ é: new Float(1) })
    expect(errorOf(() => parseJson(new Uint8Array([0x22, 0xff, 0x22]))).code).toBe(IpldErrorCode.JSON_SYNTAX)
  })
})
