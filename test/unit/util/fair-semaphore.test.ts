import { describe, expect, it } from 'vitest'
import { FairSemaphore } from '../../../src/util/fair-semaphore.js'
import { RoundRobinQueue } from '../../../src/util/round-robin.js'

describe('RoundRobinQueue', () => {
  it('serves keys in turn, each key first in first out, whatever their lengths', () => {
    const q = new RoundRobinQueue<string, string>()
    for (const item of ['a1', 'a2', 'a3', 'a4']) q.push('a', item)
    q.push('b', 'b1')
    q.push('c', 'c1')
    q.push('c', 'c2')
    const out: string[] = []
    for (let item = q.take(); item !== undefined; item = q.take()) out.push(item)
    expect(out).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4'])
    expect(q.size).toBe(0)
  })

  it('skips keys that are not eligible, removes items, and tells whether others wait', () => {
    const q = new RoundRobinQueue<string, number>()
    q.push('a', 1)
    q.push('a', 2)
    q.push('b', 3)
    expect(q.othersWaiting('a')).toBe(true)
    expect(q.take(k => k !== 'a')).toBe(3)
    expect(q.othersWaiting('a')).toBe(false)
    expect(q.othersWaiting('z')).toBe(true)
    expect(q.take(k => k === 'z')).toBeUndefined()
    expect(q.remove('a', 2)).toBe(true)
    expect(q.remove('a', 2)).toBe(false)
    expect([...q.keys()]).toEqual(['a'])
    expect(q.drain()).toEqual([1])
    expect(q.size).toBe(0)
  })
})

describe('FairSemaphore', () => {
  it('lets a key that holds nothing in even when every place is taken, and wakes waiters a key at a time', async () => {
    const s = new FairSemaphore<string>(2)
    const order: string[] = []
    const take = async (key: string, name: string): Promise<() => void> => {
      const release = await s.acquire(key)
      order.push(name)
      return release
    }
    // a takes both places and queues three more
    const a1 = await take('a', 'a1')
    const a2 = await take('a', 'a2')
    const a3 = take('a', 'a3')
    const a4 = take('a', 'a4')
    void take('a', 'a5')
    // b and c, which hold nothing, get in beyond the limit, but only once each
    const b1 = await take('b', 'b1')
    const b2 = take('b', 'b2')
    const c1 = await take('c', 'c1')
    expect(s.holders).toBe(4)
    expect(s.waiting).toBe(4)
    // releases bring the count down to the limit before anyone waiting gets in
    a1()
    c1()
    expect(s.holders).toBe(2)
    expect(order).toEqual(['a1', 'a2', 'b1', 'c1'])
    // one place free: the waiting keys take turns, a first (it queued first)
    a2()
    const a3release = await a3
    b1()
    await b2
    a3release()
    await a4
    expect(order).toEqual(['a1', 'a2', 'b1', 'c1', 'a3', 'b2', 'a4'])
    expect(s.waiting).toBe(1)
  })

  it('drops a waiter whose signal aborts', async () => {
    const s = new FairSemaphore<string>(1)
    const held = await s.acquire('a')
    const controller = new AbortController()
    const waiting = s.acquire('a', controller.signal)
    controller.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    expect(s.waiting).toBe(0)
    held()
    expect(s.holders).toBe(0)
    await expect(s.acquire('a', controller.signal)).rejects.toThrow('gone')
  })
})
