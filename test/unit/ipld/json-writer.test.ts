import { describe, expect, it } from 'vitest'
import { CID, Float, IpldErrorCode, compareUtf8, formatFloat, parseCid, toDagJson, type Ipld } from '../../../src/ipld/index.js'

describe('formatFloat (serde_json / ryu)', () => {
  it.each<[number, string]>([
    [5, '5.0'],
    [-5, '-5.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [0.1, '0.1'],
    [1.5, '1.5'],
    [123.456, '123.456'],
    [2 ** 64, '1.8446744073709552e19'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e16'],
    [1.5e16, '1.5e16'],
    [2 ** 53 + 1, '9007199254740992.0'], // 2^53 + 1 rounds to 2^53 as a float64
    [1e21, '1e21'],
    [1e-7, '1e-7'],
    [1.5e-7, '1.5e-7'],
    [0.0001, '0.0001'],
    [0.00001, '0.00001'],
    [0.000001, '1e-6'],
    [0.000123, '0.000123'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e308'],
    [-1e-7, '-1e-7'],
    [3883.2, '3883.2']
  ])('%s -> %s', (x, text) => {
    expect(formatFloat(x)).toBe(text)
  })

  it('NaN and infinities are null', () => {
    expect(formatFloat(NaN)).toBe('null')
    expect(formatFloat(Infinity)).toBe('null')
    expect(formatFloat(-Infinity)).toBe('null')
  })
})

describe('toDagJson', () => {
  const cid = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')

  it('writes every kind without whitespace', () => {
    const value: Ipld = {
      int: 42,
      neg: -7,
      big: 18446744073709551615n,
      float: new Float(5),
      frac: 0.5,
      str: 'a"b\n\u0001é',
      bytes: new Uint8Array([1, 2, 3]),
      link: cid,
      list: [null, true, false, []],
      map: {}
    }
    expect(toDagJson(value)).toBe(
      '{"big":18446744073709551615,"bytes":{"/":{"bytes":"AQID"}},"float":5.0,"frac":0.5,"int":42,' +
      `"link":{"/":"${cid.toString()}"},"list":[null,true,false,[]],"map":{},"neg":-7,"str":"a\\"b\\n\\u0001é"}`
    )
  })

  it('writes CIDv0 links in base58btc', () => {
    const v0 = CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n')
    expect(toDagJson(v0)).toBe('{"/":"QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"}')
  })

  it('sorts keys bytewise (not length-first), by UTF-8 bytes', () => {
    expect(toDagJson({ rsc: 1, op: 2, input: 3, nnc: 4 })).toBe('{"input":3,"nnc":4,"op":2,"rsc":1}')
    expect(toDagJson({ b: 1, a: 2, B: 3, aa: 4, '': 5 })).toBe('{"":5,"B":3,"a":2,"aa":4,"b":1}')
    // U+FF5E sorts before U+1F600 in UTF-8, although its UTF-16 code unit is larger than the surrogate's
    expect(toDagJson({ '😀': 1, '～': 2 })).toBe('{"～":2,"😀":1}')
  })

  it('writes unsafe whole numbers held as number as floats', () => {
    expect(toDagJson(2 ** 60)).toBe('1.152921504606847e18')
    expect(toDagJson(NaN)).toBe('null')
  })

  it('refuses undefined and functions', () => {
    expect(() => toDagJson({ a: undefined } as unknown as Ipld)).toThrow(expect.objectContaining({ code: IpldErrorCode.ENCODE }))
    expect(() => toDagJson((() => 1) as unknown as Ipld)).toThrow(expect.objectContaining({ code: IpldErrorCode.ENCODE }))
  })
})

describe('compareUtf8', () => {
  it('orders by code point', () => {
    const keys = ['😀', '～', 'z', 'A', '', 'é']
    expect([...keys].sort(compareUtf8)).toEqual(['', 'A', 'z', 'é', '～', '😀'])
    const bytes = keys.map((k) => Buffer.from(k)).sort((a, b) => Buffer.compare(a, b)).map((b) => b.toString())
    expect([...keys].sort(compareUtf8)).toEqual(bytes)
  })
})
