import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import { Float } from '../../../src/ipld/value.js'
import { RuntimeError, RuntimeErrorCode } from '../../../src/runtime/errors.js'
import { float32ToIpld, parseCidString, witToIpld } from '../../../src/runtime/values/wit-to-ipld.js'
import type { WitType } from '../../../src/runtime/values/wit-types.js'
import { enumOf, flags, list, option, prim, record, result, tuple, variant } from './wit-types.js'

const out = (value: unknown, type: WitType): unknown => witToIpld(value, [type])

function badOutput (fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError)
    expect((err as RuntimeError).code).toBe(RuntimeErrorCode.BAD_OUTPUT)
    expect((err as RuntimeError).retryable).toBe(false)
    return
  }
  throw new Error('expected a BAD_OUTPUT error')
}

const CID_V1 = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'
const CID_V0 = 'QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'

describe('WIT → IPLD output (§7.4)', () => {
  it('0 results give null, 1 its value, more a list', () => {
    expect(witToIpld(undefined, [])).toBeNull()
    expect(witToIpld(5, [prim('s32')])).toBe(5)
    expect(witToIpld([1, 'a'], [prim('u8'), prim('string')])).toEqual([1, 'a'])
  })

  it('char gives a string, bool a bool', () => {
    expect(out('é', prim('char'))).toBe('é')
    expect(out(true, prim('bool'))).toBe(true)
  })

  describe('strings', () => {
    it('"null" becomes null (quirk)', () => {
      expect(out('null', prim('string'))).toBeNull()
      expect(out('Null', prim('string'))).toBe('Null')
    })
    it('a string that parses as a CID becomes a link (quirk)', () => {
      expect(out(CID_V1, prim('string'))).toEqual(CID.parse(CID_V1))
      expect(out(CID_V0, prim('string'))).toEqual(CID.parse(CID_V0))
      const base58 = CID.parse(CID_V1).toString(base58btc)
      expect(out(base58, prim('string'))).toEqual(CID.parse(CID_V1))
      expect(out(`/ipfs/${CID_V1}`, prim('string'))).toEqual(CID.parse(CID_V1))
    })
    it('other strings stay strings', () => {
      expect(out('hello', prim('string'))).toBe('hello')
      expect(out('b', prim('string'))).toBe('b')
      expect(out('Natural Science\nworld', prim('string'))).toBe('Natural Science\nworld')
      expect(parseCidString('bafy-not-a-cid')).toBeUndefined()
      expect(parseCidString('zzz')).toBeUndefined()
    })
    it('the quirks apply inside structures too', () => {
      expect(out(['null', 'x'], list(prim('string')))).toEqual([null, 'x'])
    })
  })

  it('integers are IPLD integers, bigint only beyond the safe range', () => {
    expect(out(-7, prim('s32'))).toBe(-7)
    expect(out(7n, prim('u64'))).toBe(7)
    expect(out(2n ** 64n - 1n, prim('u64'))).toBe(2n ** 64n - 1n)
    expect(out(-(2n ** 63n), prim('s64'))).toBe(-(2n ** 63n))
  })

  describe('floats', () => {
    it('float32 is its shortest decimal', () => {
      expect(out(Math.fround(3883.2), prim('float32'))).toBe(3883.2)
      expect(out(Math.fround(0.1), prim('float32'))).toBe(0.1)
      expect(out(Math.fround(1e-7), prim('float32'))).toBe(1e-7)
      expect(float32ToIpld(Math.fround(16777217))).toEqual(new Float(16777216))
    })
    it('whole-number floats are Float values', () => {
      expect(out(2, prim('float32'))).toEqual(new Float(2))
      expect(out(3, prim('float64'))).toEqual(new Float(3))
      expect(out(1.5, prim('float64'))).toBe(1.5)
    })
    it('a float32 with no decimal form is an error', () => {
      badOutput(() => out(Number.NaN, prim('float32')))
      badOutput(() => out(Number.POSITIVE_INFINITY, prim('float32')))
    })
  })

  describe('lists', () => {
    it('list<u8> with at least one element is bytes; an empty one is [] (quirk)', () => {
      const bytes = out(new Uint8Array([1, 2]), list(prim('u8')))
      expect(bytes).toBeInstanceOf(Uint8Array)
      expect(bytes).toEqual(new Uint8Array([1, 2]))
      expect(out(new Uint8Array(0), list(prim('u8')))).toEqual([])
    })
    it('list<tuple<string, X>> is a map', () => {
      expect(out([['b', 2], ['a', 1]], list(tuple(prim('string'), prim('u32'))))).toEqual({ a: 1, b: 2 })
      expect(out([], list(tuple(prim('string'), prim('u32'))))).toEqual({})
    })
    it('other lists and tuples are lists', () => {
      expect(out(new Int32Array([1, -2]), list(prim('s32')))).toEqual([1, -2])
      expect(out([new Uint16Array([1, 2])], list(list(prim('u16'))))).toEqual([[1, 2]])
      expect(out([7, 'x'], tuple(prim('u8'), prim('string')))).toEqual([7, 'x'])
      expect(out([[1, 2]], list(tuple(prim('u8'), prim('u8'))))).toEqual([[1, 2]])
    })
  })

  it('variants are { case: payload | null }', () => {
    const shape = variant({ circle: prim('u32'), empty: null })
    expect(out({ tag: 'circle', val: 5 }, shape)).toEqual({ circle: 5 })
    expect(out({ tag: 'empty' }, shape)).toEqual({ empty: null })
  })

  it('records are maps keyed by the WIT field names', () => {
    expect(out({ x: 1, yCoord: -2 }, record({ x: prim('s32'), 'y-coord': prim('s32') }))).toEqual({ x: 1, 'y-coord': -2 })
  })

  it('options are their value or null', () => {
    expect(out(5, option(prim('u32')))).toBe(5)
    expect(out(undefined, option(prim('u32')))).toBeNull()
    expect(out({ tag: 'some', val: 5 }, option(option(prim('u32'))))).toBe(5)
    expect(out({ tag: 'some', val: undefined }, option(option(prim('u32'))))).toBeNull()
    expect(out({ tag: 'none' }, option(option(prim('u32'))))).toBeNull()
  })

  it('results are [v, null], [1, null], [null, v] or [null, 1]', () => {
    expect(out({ tag: 'ok', val: 0 }, result(prim('s32')))).toEqual([0, null])
    expect(out({ tag: 'ok' }, result())).toEqual([1, null])
    expect(out({ tag: 'err', val: 'bad' }, result(prim('s32'), prim('string')))).toEqual([null, 'bad'])
    expect(out({ tag: 'err' }, result(prim('s32')))).toEqual([null, 1])
  })

  it('flags are the names of the flags set, enums their case name', () => {
    expect(out({ read: true, write: false, execAll: true }, flags('read', 'write', 'exec-all'))).toEqual(['read', 'exec-all'])
    expect(out('dark-blue', enumOf('red', 'dark-blue'))).toBe('dark-blue')
  })

  it('resources and other kinds are an error', () => {
    badOutput(() => out(1, { kind: 'unsupported', name: 'own' }))
  })
})
