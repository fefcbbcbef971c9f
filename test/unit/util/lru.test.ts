import { describe, expect, it } from 'vitest'
import { LruMap } from '../../../src/util/lru.js'

describe('LruMap', () => {
  it('keeps at most capacity entries, dropping the least recently used', () => {
    const m = new LruMap<string, number>(2)
    m.set('a', 1)
    m.set('b', 2)
    expect(m.get('a')).toBe(1) // a is now the most recent
    m.set('c', 3)
    expect(m.get('b')).toBeUndefined()
    expect(m.get('a')).toBe(1)
    expect(m.get('c')).toBe(3)
    expect(m.size).toBe(2)
    m.set('a', 10) // replacing refreshes too
    m.set('d', 4)
    expect(m.get('c')).toBeUndefined()
    expect(m.get('a')).toBe(10)
  })

  it('with capacity 0 keeps nothing; a bad capacity is refused', () => {
    const m = new LruMap<string, number>(0)
    m.set('a', 1)
    expect(m.get('a')).toBeUndefined()
    expect(() => new LruMap(-1)).toThrow(RangeError)
    expect(() => new LruMap(1.5)).toThrow(RangeError)
  })

  it('with a weight, holds at most capacity in weight; a value heavier than capacity is not kept; evictions are reported', () => {
    const evicted: string[] = []
    const m = new LruMap<string, Uint8Array>(10, { weigh: b => b.byteLength, onEvict: k => evicted.push(k) })
    m.set('a', new Uint8Array(4))
    m.set('b', new Uint8Array(4))
    expect(m.get('a')?.byteLength).toBe(4) // a is now the most recent
    m.set('c', new Uint8Array(4)) // 12 > 10: b goes
    expect(m.has('b')).toBe(false)
    expect(m.has('a')).toBe(true)
    expect(m.has('c')).toBe(true)
    m.set('a', new Uint8Array(2)) // replacing counts the new weight only: 6
    m.set('d', new Uint8Array(4)) // 10
    expect([m.has('a'), m.has('c'), m.has('d')]).toEqual([true, true, true])
    m.set('huge', new Uint8Array(11))
    expect(m.has('huge')).toBe(false)
    expect(m.size).toBe(3)
    m.delete('a')
    m.set('e', new Uint8Array(2)) // 4 + 4 + 2
    expect(m.size).toBe(3)
    expect(evicted).toEqual(['b'])
  })
})
