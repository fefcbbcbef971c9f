import { describe, expect, it } from 'vitest'
import { LruMap } from '../../src/util/lru.js'

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
})
