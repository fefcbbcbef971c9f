import { afterEach, describe, expect, it } from 'vitest'
import { ReceiptStore } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { countingController, type CountingDatabase } from '../../utils/counting-level.js'
import { makeReceipt } from '../../utils/store.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/** A receipt store with `cacheBytes` of cache over a database that counts reads, holding `n` receipts. */
async function storeOf (n: number, cacheBytes: number): Promise<{ receipts: ReceiptStore, db: CountingDatabase, instructions: ReturnType<typeof makeReceipt>['instruction'][] }> {
  const { level, db, close } = await countingController('ipvm-receipt-cache-')
  closers.push(close)
  const receipts = new ReceiptStore({ level, logger: silentLogger() }, { cacheBytes })
  await receipts.start()
  const rs = Array.from({ length: n }, (_, i) => makeReceipt('cache', i))
  await receipts.putMany(rs)
  return { receipts, db, instructions: rs.map(r => r.instruction) }
}

describe('ReceiptStore: the reusable receipts kept in memory', () => {
  it('answers again from memory what fits in cacheBytes, and reads the disk for the rest', async () => {
    const roomy = await storeOf(40, 1024 * 1024)
    const first = await roomy.receipts.getManyByInstruction(roomy.instructions)
    expect(first.every(r => r !== undefined)).toBe(true)
    const before = roomy.db.keysRead
    const again = await roomy.receipts.getManyByInstruction(roomy.instructions)
    expect(again.map(r => r?.cid.toString())).toEqual(first.map(r => r?.cid.toString()))
    expect(roomy.db.keysRead).toBe(before)

    // room for about ten receipts (each counts its bytes and ~1 kB): most of the forty are read again
    const tight = await storeOf(40, 10 * 1200)
    await tight.receipts.getManyByInstruction(tight.instructions)
    const readsBefore = tight.db.keysRead
    const fromDisk = await tight.receipts.getManyByInstruction(tight.instructions)
    expect(fromDisk.map(r => r?.cid.toString())).toEqual(first.map(r => r?.cid.toString()))
    expect(tight.db.keysRead - readsBefore).toBeGreaterThanOrEqual(2 * 30)
  })
})
