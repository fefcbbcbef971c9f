import { afterEach, describe, expect, it } from 'vitest'
import type { LevelController } from '../../../src/store/level.js'
import { SYNC_READ_MAX_BYTES, SYNC_READ_MAX_KEYS } from '../../../src/store/level.js'
import { countingController, type CountingDatabase } from '../../utils/counting-level.js'

type Bytes = Uint8Array

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function started (): Promise<{ level: LevelController, db: CountingDatabase }> {
  const { level, db, close } = await countingController('ipvm-level-reads-')
  closers.push(close)
  return { level, db }
}

const k = (n: number): Bytes => Uint8Array.of(7, n >> 8, n & 0xff)

describe('store: reads of a few keys', () => {
  it(`reads up to ${SYNC_READ_MAX_KEYS} keys on the calling thread and more as one job on the pool, with the same answers`, async () => {
    const { level, db } = await started()
    const n = SYNC_READ_MAX_KEYS + 8
    await level.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: k(i), value: Uint8Array.of(i) })))
    // every other key is present
    const few = Array.from({ length: SYNC_READ_MAX_KEYS }, (_, i) => k(i % 2 === 0 ? i : 1000 + i))
    const fewValues = await level.getMany(few)
    expect(db.syncReads).toBe(SYNC_READ_MAX_KEYS)
    expect(db.asyncReads).toBe(0)
    expect(fewValues.map(v => v?.[0])).toEqual(few.map((_, i) => i % 2 === 0 ? i : undefined))
    for (const v of fewValues) if (v !== undefined) expect(v.constructor).toBe(Uint8Array)
    expect(await level.hasMany(few)).toEqual(few.map((_, i) => i % 2 === 0))
    expect(await level.get(k(3))).toEqual(Uint8Array.of(3))

    const synced = db.syncReads
    const many = Array.from({ length: n }, (_, i) => k(i))
    expect((await level.getMany(many)).map(v => v?.[0])).toEqual(many.map((_, i) => i))
    expect(db.asyncReads).toBe(1)
    // values that may be large (a file's blocks) are read on the pool however few
    expect((await level.getMany([k(1), k(2)], { large: true })).map(v => v?.[0])).toEqual([1, 2])
    expect(db.asyncReads).toBe(2)
    expect(db.syncReads).toBe(synced)
  })

  it(`stops reading on the calling thread once ${SYNC_READ_MAX_BYTES} bytes came, and reads the rest on the pool`, async () => {
    const { level, db } = await started()
    const big = (n: number): Uint8Array => new Uint8Array(Math.floor(SYNC_READ_MAX_BYTES * 0.6)).fill(n)
    await level.batch([1, 2, 3].map(i => ({ type: 'put' as const, key: k(i), value: big(i) })))
    const values = await level.getMany([k(1), k(2), k(3)])
    expect(values.map(v => [v?.length, v?.[0]])).toEqual([1, 2, 3].map(i => [Math.floor(SYNC_READ_MAX_BYTES * 0.6), i]))
    // the first two on the calling thread (1.2 MiB then), the third as one job on the pool
    expect(db.syncReads).toBe(2)
    expect(db.asyncReads).toBe(1)
  })

  it('a read of a stopped store fails with the store\'s own error', async () => {
    const { level } = await started()
    await level.stop()
    await expect(level.getMany([k(1)])).rejects.toMatchObject({ code: 'STORE_NOT_OPEN' })
    await expect(level.get(k(1))).rejects.toMatchObject({ code: 'STORE_NOT_OPEN' })
  })
})
