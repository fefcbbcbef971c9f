import { describe, expect, it } from 'vitest'
import { backoffDelay, retry, RetriesExhausted } from '../../../src/util/retry.js'
import { Semaphore } from '../../../src/util/semaphore.js'

describe('retry', () => {
  it('backoff doubles, is capped, and jitters within the upper half', () => {
    expect(backoffDelay(1, 500, 60_000, () => 0)).toBe(250)
    expect(backoffDelay(1, 500, 60_000, () => 0.999999)).toBe(500)
    expect(backoffDelay(3, 500, 60_000, () => 0.999999)).toBe(2000)
    expect(backoffDelay(20, 500, 60_000, () => 0.999999)).toBe(60_000)
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, 100, 1000)
      expect(d).toBeGreaterThanOrEqual(100)
      expect(d).toBeLessThanOrEqual(200)
    }
  })

  it('retries until success, calling onRetry with each attempt', async () => {
    const seen: number[] = []
    const result = await retry(attempt => {
      if (attempt < 3) return Promise.reject(new Error(`fail ${attempt}`))
      return Promise.resolve('done')
    }, { retries: 5, initialDelayMs: 1, maxDelayMs: 2, onRetry: (_e, attempt) => seen.push(attempt) })
    expect(result).toBe('done')
    expect(seen).toEqual([1, 2])
  })

  it('gives up after the retries with the attempt count, and never retries what should not be', async () => {
    let calls = 0
    const err = await retry(() => { calls++; return Promise.reject(new Error('always')) }, { retries: 2, initialDelayMs: 1, maxDelayMs: 1 }).catch(e => e)
    expect(err).toBeInstanceOf(RetriesExhausted)
    expect(err.attempts).toBe(3)
    expect(calls).toBe(3)
    calls = 0
    const fatal = await retry(() => { calls++; return Promise.reject(new Error('fatal')) }, { retries: 5, initialDelayMs: 1, maxDelayMs: 1, shouldRetry: () => false }).catch(e => e)
    expect(fatal.attempts).toBe(1)
    expect(calls).toBe(1)
  })

  it('an abort during the backoff ends the retries at once', async () => {
    const ac = new AbortController()
    let calls = 0
    const p = retry(() => { calls++; return Promise.reject(new Error('x')) }, { retries: 5, initialDelayMs: 600_000, maxDelayMs: 600_000, signal: ac.signal })
    setTimeout(() => ac.abort(), 20)
    // a backoff of at least 300 s was cut short: the test ends within its own limit (30 s),
    // after the first attempt only
    const err = await p.catch(e => e)
    expect(err).toBeInstanceOf(RetriesExhausted)
    expect(calls).toBe(1)
  })
})

describe('semaphore', () => {
  it('admits at most the limit at once, in arrival order', async () => {
    const s = new Semaphore(2)
    let inside = 0
    let most = 0
    const order: number[] = []
    await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const release = await s.acquire()
      order.push(i)
      inside++
      most = Math.max(most, inside)
      await new Promise(resolve => setTimeout(resolve, 5))
      inside--
      release()
    }))
    expect(most).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('a waiter that aborts leaves the queue', async () => {
    const s = new Semaphore(1)
    const release = await s.acquire()
    const ac = new AbortController()
    const waiting = s.acquire(ac.signal)
    ac.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    expect(s.waiting).toBe(0)
    release()
    const again = await s.acquire()
    again()
  })
})
