import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { base36 } from 'multiformats/bases/base36'
import { Float, type Ipld } from '../../../src/ipld/value.js'
import { RuntimeError, RuntimeErrorCode } from '../../../src/runtime/errors.js'
import { ipldToWitArgs } from '../../../src/runtime/values/ipld-to-wit.js'
import type { WitType } from '../../../src/runtime/values/wit-types.js'
import { enumOf, flags, list, option, params, prim, record, result, tuple, variant } from './wit-types.js'

/** Converts one argument for a parameter of type `type` (§7.3). */
const one = (value: Ipld, type: WitType): unknown => ipldToWitArgs([value], params(type))[0]

function badArgument (fn: () => unknown): RuntimeError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError)
    expect((err as RuntimeError).code).toBe(RuntimeErrorCode.BAD_ARGUMENT)
    expect((err as RuntimeError).retryable).toBe(false)
    return err as RuntimeError
  }
  throw new Error('expected a BAD_ARGUMENT error')
}

const CID_V1 = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'
const CID_V0 = 'QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'

describe('IPLD → WIT arguments (§7.3)', () => {
  it('arguments are zipped with parameters: a missing one and (unlike Homestar) an extra one are errors naming it', () => {
    expect(ipldToWitArgs([1], params(prim('s32')))).toEqual([1])
    expect(badArgument(() => ipldToWitArgs([1, 2, 3], params(prim('s32')))).data).toMatchObject({ path: 'args[1]', expected: 1, given: 3 })
    expect(badArgument(() => ipldToWitArgs(['a'], params(prim('string'), prim('string')))).message).toMatch(/^args\[1\] is missing/)
  })

  describe('null', () => {
    it('is none for option<T>', () => {
      expect(one(null, option(prim('u32')))).toBeUndefined()
      expect(one(null, option(option(prim('u32'))))).toEqual({ tag: 'none' })
    })
    it('is the string "null" for string', () => {
      expect(one(null, prim('string'))).toBe('null')
    })
    it('is the string "null" in an untyped slot, which a bool parameter then rejects', () => {
      expect(badArgument(() => one(null, prim('bool'))).message).toMatch(/type mismatch/)
    })
    it('is an error for other types', () => {
      badArgument(() => one(null, prim('s32')))
      badArgument(() => one(null, list(prim('u8'))))
    })
  })

  it('a non-null value for option<T> is some(convert(v, T))', () => {
    expect(one(5, option(prim('u32')))).toBe(5)
    expect(one(5, option(option(prim('u32'))))).toEqual({ tag: 'some', val: 5 })
    expect(one([1, 2], option(list(prim('s32'))))).toEqual(new Int32Array([1, 2]))
  })

  describe('result<O, E> from a 2-element list', () => {
    it('[1, null] without O is ok, [null, 1] without E is err', () => {
      expect(one([1, null], result())).toEqual({ tag: 'ok', val: undefined })
      expect(one([null, 1], result())).toEqual({ tag: 'err', val: undefined })
    })
    it('[x, null] with O is ok(x), [null, x] with E is err(x)', () => {
      expect(one([7, null], result(prim('u32'), prim('string')))).toEqual({ tag: 'ok', val: 7 })
      expect(one([null, 'bad'], result(prim('u32'), prim('string')))).toEqual({ tag: 'err', val: 'bad' })
    })
    it('[_, null] and [null, _] without payload types are ok and err', () => {
      expect(one(['anything', null], result(undefined, prim('string')))).toEqual({ tag: 'ok', val: undefined })
      expect(one([null, 'anything'], result(prim('u32')))).toEqual({ tag: 'err', val: undefined })
    })
    it('anything else is an error', () => {
      badArgument(() => one([1, 2], result(prim('u32'), prim('u32'))))
      badArgument(() => one([1], result()))
      badArgument(() => one(1, result()))
    })
  })

  it('bool converts to bool only', () => {
    expect(one(true, prim('bool'))).toBe(true)
    badArgument(() => one(true, prim('s32')))
    badArgument(() => one(false, prim('string')))
  })

  describe('integers', () => {
    it('are range-checked for u8..s32 and u64', () => {
      expect(one(255, prim('u8'))).toBe(255)
      badArgument(() => one(256, prim('u8')))
      badArgument(() => one(-129, prim('s8')))
      expect(one(-32768, prim('s16'))).toBe(-32768)
      badArgument(() => one(65536, prim('u16')))
      badArgument(() => one(2 ** 32, prim('u32')))
      badArgument(() => one(-1, prim('u32')))
      expect(one(2n ** 64n - 1n, prim('u64'))).toBe(2n ** 64n - 1n)
      badArgument(() => one(2n ** 64n, prim('u64')))
    })
    it('are checked as s64 for s64', () => {
      expect(one(-(2n ** 63n), prim('s64'))).toBe(-(2n ** 63n))
      badArgument(() => one(2n ** 63n, prim('s64')))
    })
    it('become float32 and float64 when the float holds them exactly, and are refused otherwise', () => {
      expect(one(3, prim('float32'))).toBe(3)
      expect(one(16777216, prim('float32'))).toBe(16777216)
      expect(one(2n ** 53n, prim('float64'))).toBe(2 ** 53)
      expect(one(-(2n ** 60n), prim('float64'))).toBe(-(2 ** 60))
      expect(badArgument(() => one(16777217, prim('float32'))).message).toMatch(/args\[0\]: integer 16777217 cannot be passed as float32 exactly/)
      badArgument(() => one(2n ** 53n + 1n, prim('float64')))
    })
    it('are an error for other types', () => {
      badArgument(() => one(1, prim('string')))
      badArgument(() => one(1, enumOf('a')))
      badArgument(() => one(1, prim('char')))
    })
  })

  describe('floats', () => {
    it('are rounded to the nearest float32 for float32 (refused beyond its range) and kept for float64', () => {
      expect(one(0.1, prim('float32'))).toBe(Math.fround(0.1))
      expect(badArgument(() => one(new Float(1e39), prim('float32'))).message).toMatch(/args\[0\]: 1e\+39 is beyond the range of float32/)
      expect(one(0.1, prim('float64'))).toBe(0.1)
      expect(one(new Float(2), prim('float64'))).toBe(2)
    })
    it('pass whole values to integer types; a fraction or a value out of range is refused, not truncated or saturated as Homestar does', () => {
      expect(one(new Float(3), prim('s32'))).toBe(3)
      expect(one(new Float(-4), prim('s64'))).toBe(-4n)
      expect(badArgument(() => one(2.7, prim('s32'))).message).toMatch(/args\[0\]: 2.7 is not a whole number/)
      badArgument(() => one(-2.7, prim('s32')))
      badArgument(() => one(1.5, prim('u8')))
      expect(badArgument(() => one(new Float(300), prim('u8'))).message).toMatch(/integer 300 out of range for u8/)
      badArgument(() => one(new Float(1e30), prim('s64')))
      expect(badArgument(() => ipldToWitArgs([1, 2.5], params(prim('s32'), prim('s32')))).data).toMatchObject({ path: 'args[1]' })
    })
    it('are an error for other types', () => {
      badArgument(() => one(1.5, prim('string')))
      badArgument(() => one(1.5, prim('bool')))
    })
  })

  describe('strings', () => {
    it('must name a case of an enum', () => {
      expect(one('dark-blue', enumOf('red', 'dark-blue'))).toBe('dark-blue')
      badArgument(() => one('blue', enumOf('red', 'dark-blue')))
    })
    it('must be exactly one Unicode scalar for char', () => {
      expect(one('é', prim('char'))).toBe('é')
      expect(one('😀', prim('char'))).toBe('😀')
      badArgument(() => one('ab', prim('char')))
      badArgument(() => one('', prim('char')))
    })
    it('are an error for lists', () => {
      badArgument(() => one('abc', list(prim('u8'))))
    })
    it('stay strings otherwise, so a mismatch is reported for the parameter', () => {
      expect(one('x', prim('string'))).toBe('x')
      expect(badArgument(() => one('x', prim('s32'))).message).toMatch(/type mismatch: expected s32, got string/)
    })
  })

  describe('bytes', () => {
    it('are a list of u8 for list types', () => {
      expect(one(new Uint8Array([1, 2, 3]), list(prim('u8')))).toEqual(new Uint8Array([1, 2, 3]))
      badArgument(() => one(new Uint8Array([1]), list(prim('u16'))))
    })
    it('are base64 (standard alphabet, no padding) otherwise', () => {
      expect(one(new Uint8Array([1, 2, 3, 4]), prim('string'))).toBe('AQIDBA')
      expect(one(new Uint8Array([0xfb, 0xff]), prim('string'))).toBe('+/8')
    })
  })

  it('links become strings: CIDv1 in base32, CIDv0 in base58btc', () => {
    expect(one(CID.parse(CID_V1), prim('string'))).toBe(CID_V1)
    expect(one(CID.parse(CID_V0), prim('string'))).toBe(CID_V0)
    // whatever base the link was read from
    expect(one(CID.parse(CID.parse(CID_V1).toString(base36), base36), prim('string'))).toBe(CID_V1)
  })

  describe('lists', () => {
    it('convert each element for list<T>', () => {
      expect(one([1, -2, 3], list(prim('s32')))).toEqual(new Int32Array([1, -2, 3]))
      expect(one([1n, 2n], list(prim('u64')))).toEqual(new BigUint64Array([1n, 2n]))
      expect(one(['a', 'b'], list(prim('string')))).toEqual(['a', 'b'])
      expect(one([[1], [2, 3]], list(list(prim('u16'))))).toEqual([new Uint16Array([1]), new Uint16Array([2, 3])])
      badArgument(() => one([1, 'x'], list(prim('s32'))))
    })
    it('are zipped with the types of a tuple; a missing or an extra element is an error', () => {
      expect(one([7, 'x'], tuple(prim('u8'), prim('string')))).toEqual([7, 'x'])
      expect(badArgument(() => one([7, 'x', 'extra'], tuple(prim('u8'), prim('string')))).message).toMatch(/args\[0\]\[2\]: one element too many/)
      badArgument(() => one([7], tuple(prim('u8'), prim('string'))))
    })
    it('are flag names for flags', () => {
      expect(one(['read', 'exec-all'], flags('read', 'write', 'exec-all'))).toEqual({ read: true, write: false, execAll: true })
      badArgument(() => one(['delete'], flags('read')))
      badArgument(() => one([1], flags('read')))
    })
    it('of one element convert that element for any other type; an empty list is false (quirk); longer ones are refused', () => {
      expect(one([5], prim('s32'))).toBe(5)
      expect(badArgument(() => one([5, 6], prim('s32'))).message).toMatch(/only its first element would be/)
      expect(one([[5]], prim('s32'))).toBe(5)
      expect(one(['dark-blue'], enumOf('dark-blue'))).toBe('dark-blue')
      expect(one([], prim('bool'))).toBe(false)
      expect(badArgument(() => one([], prim('s32'))).message).toMatch(/expected s32, got bool/)
    })
  })

  describe('maps', () => {
    it('are (key, value) tuples for list<tuple<string, T>>, in key order', () => {
      expect(one({ b: '2', a: '1' }, list(tuple(prim('string'), prim('string'))))).toEqual([['a', '1'], ['b', '2']])
    })
    it('convert values with the key type (quirk), so only string values work', () => {
      badArgument(() => one({ a: 5 }, list(tuple(prim('string'), prim('u32')))))
    })
    it('name the variant case with their one key', () => {
      const shape = variant({ circle: prim('u32'), label: prim('string'), empty: null })
      expect(one({ label: 'x' }, shape)).toEqual({ tag: 'label', val: 'x' })
      expect(one({ circle: 5 }, shape)).toEqual({ tag: 'circle', val: 5 })
      // Homestar takes the first key ("circle") and drops the rest: refused here
      expect(badArgument(() => one({ label: 'x', circle: 5 }, shape)).message).toMatch(/has 2/)
      expect(one({ empty: 'ignored' }, shape)).toEqual({ tag: 'empty' })
      badArgument(() => one({ square: 1 }, shape))
      badArgument(() => one({}, shape))
    })
    it('need every record field (extra keys ignored)', () => {
      const point = record({ x: prim('s32'), 'y-coord': prim('s32') })
      expect(one({ x: 1, 'y-coord': -2, z: 9 }, point)).toEqual({ x: 1, yCoord: -2 })
      badArgument(() => one({ x: 1 }, point))
    })
    it('are an error for other types', () => {
      badArgument(() => one({ a: 1 }, prim('s32')))
      badArgument(() => one({ a: 1 }, list(prim('string'))))
      badArgument(() => one({ a: 1 }, prim('bool')))
    })
  })
})
