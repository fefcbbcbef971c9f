import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelController } from '../../../src/store/level.js'
import { ReceiptStore } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { countingLevel } from '../../utils/counting-level.js'
import { makeReceipt } from '../../utils/store.js'

const dirs: string[] = []
const controllers: LevelController[] = []
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A receipt store with `cacheBytes` of cache over a database that counts reads, holding `n` receipts. */
async function storeOf (n: number, cacheBytes: number): Promise<{ receipts: ReceiptStore, db: ReturnType<typeof countingLevel>, instructions: ReturnType<typeof makeReceipt>['instruction'][] }> {
  const location = mkdtempSync(join(tmpdir(), 'ipvm-receipt-cache-'))
  dirs.push(location)
  const db = countingLevel(location)
  const level = new LevelController({ location }, { logger: silentLogger(), database: () => db })
  await level.start()
  controllers.push(level)
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
