import { describe, expect, it } from 'vitest'
import { collectGarbage } from '../../../src/util/memory.js'

describe('collectGarbage', () => {
  it('collects this thread\'s heap without leaving `gc` on the global object', () => {
    const hadGc = 'gc' in globalThis
    const holder: { garbage?: Array<{ n: number, s: string }> } = { garbage: Array.from({ length: 300_000 }, (_, n) => ({ n, s: `item ${n}` })) }
    const held = process.memoryUsage().heapUsed
    expect(holder.garbage).toHaveLength(300_000)
    delete holder.garbage
    expect(collectGarbage()).toBe(true)
    // ~30 MB of objects were dropped
    expect(process.memoryUsage().heapUsed).toBeLessThan(held - 10 * 1024 * 1024)
    expect('gc' in globalThis).toBe(hadGc)
  })
})
