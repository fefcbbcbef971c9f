import { afterEach, describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import { Store } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { faultyStore, FaultyLevel } from '../../utils/faulty-level.js'
import { codeOf, dagCborCid } from '../../utils/store.js'
import { waitUntil } from '../../utils/wait.js'

const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop()
})

async function open (mode: 'torn' | 'sticky'): Promise<Awaited<ReturnType<typeof faultyStore>>> {
  const opened = await faultyStore(mode)
  stores.push(opened.store)
  return opened
}

const cidOf = (n: number): CID => dagCborCid({ run: n }).cid

/** Writes run records 0..n-1 one after another; returns the ones acknowledged. */
async function writeRuns (store: Store, from: number, to: number): Promise<number[]> {
  const acked: number[] = []
  for (let n = from; n < to; n++) {
    try {
      await store.workflows.put({ cid: cidOf(n), name: `run ${n}`, numTasks: 1 })
      acked.push(n)
    } catch { // refused: not acknowledged
    }
  }
  return acked
}

describe('the store on a full disk', () => {
  it('the fault model: after a failed write LevelDB acknowledges writes it then loses on reopen', async () => {
    const db = new FaultyLevel('torn')
    await db.open()
    const k = (s: string): Uint8Array => new TextEncoder().encode(s)
    await db.put(k('before'), k('1'), { sync: true })
    db.full = true
    await expect(db.put(k('failed'), k('2'), { sync: true })).rejects.toMatchObject({ code: 'LEVEL_IO_ERROR' })
    db.full = false
    // "succeeds" on the same handle...
    await db.put(k('after'), k('3'), { sync: true })
    expect(await db.get(k('after'))).toBeDefined()
    await db.close()
    await db.open()
    // ...and is gone once the database is opened again
    expect(await db.get(k('after'))).toBeUndefined()
    expect(await db.get(k('before'))).toBeDefined()
    await db.close()
  })

  for (const mode of ['torn', 'sticky'] as const) {
    it(`(${mode}) suspends writes after a failure, reports it in health, recovers by itself once space returns, and loses nothing acknowledged`, async () => {
      const { store, db } = await open(mode)
      const before = await writeRuns(store, 0, 5)
      expect(before).toHaveLength(5)
      await store.checkHealth()

      db.full = true
      expect(await codeOf(store.workflows.put({ cid: cidOf(5), name: 'run 5', numTasks: 1 }))).toBe('STORE_NO_SPACE')
      // health says so, with the reason and since when
      const unhealthy = await Promise.resolve(store.checkHealth()).then(() => undefined, (e: unknown) => e as { code: string, message: string, data: { since: number } })
      expect(unhealthy).toMatchObject({ code: 'STORE_NO_SPACE', data: { since: expect.any(Number) as number } })
      expect(unhealthy?.message).toMatch(/store writes are failing since .*No space left on device/)
      // later writes are refused at once, without reaching the database; reads go on
      const writes = db.writes
      expect(await codeOf(store.workflows.update(cidOf(0), { status: 'running' }))).toBe('STORE_NO_SPACE')
      expect(await codeOf(store.blocks.put(dagCborCid({ block: 1 }).cid, dagCborCid({ block: 1 }).bytes))).toBe('STORE_NO_SPACE')
      expect(db.writes).toBe(writes)
      expect((await store.workflows.get(cidOf(0)))?.status).toBe('pending')
      // no reopen while the disk is full
      await new Promise(resolve => setTimeout(resolve, 100))
      expect(db.opens).toBe(1)
      expect(await codeOf(Promise.resolve(store.checkHealth()))).toBe('STORE_NO_SPACE')

      // space returns: the store reopens, a probe write lands, writes are taken again
      db.full = false
      await store.whenWritable()
      expect(db.opens).toBe(2)
      await store.checkHealth()
      const after = await writeRuns(store, 6, 10)
      expect(after).toEqual([6, 7, 8, 9])
      expect((await store.workflows.update(cidOf(0), { status: 'running' })).status).toBe('running')

      // everything acknowledged is there after a restart (the database opened again); what failed is not
      await store.stop()
      await store.start()
      for (const n of [...before, ...after]) expect((await store.workflows.get(cidOf(n)))?.name).toBe(`run ${n}`)
      expect(await store.workflows.get(cidOf(5))).toBeUndefined()
      expect((await store.workflows.get(cidOf(0)))?.status).toBe('running')
      const { runs } = await store.workflows.list({ limit: 100 })
      expect(runs).toHaveLength(9)
    })
  }

  it('keeps reopening and probing with back-off while writes fail, and a stop ends the waiting', async () => {
    // a disk that says it has room while writes still fail (another cause than space, or free space misreported)
    const db = new FaultyLevel('sticky')
    const store = new Store({ dataDir: ':memory:', recovery: { recoveryDelayMs: 5, maxRecoveryDelayMs: 20, minFreeBytes: 1 } },
      { logger: silentLogger(), database: () => db, freeBytes: () => Promise.resolve(undefined) })
    await store.start()
    stores.push(store)
    db.full = true
    expect(await codeOf(store.workflows.put({ cid: cidOf(1), name: 'x', numTasks: 1 }))).toBe('STORE_NO_SPACE')
    const writable = store.whenWritable().then(() => 'writable', (e: unknown) => (e as { code: string }).code)
    // reopened and probed, in vain, again and again
    await waitUntil(() => db.opens >= 4, 5000)
    expect(await codeOf(Promise.resolve(store.checkHealth()))).toBe('STORE_NO_SPACE')
    db.full = false
    expect(await writable).toBe('writable')
    await store.checkHealth()
    // once more, then stop before it recovers
    db.full = true
    expect(await codeOf(store.workflows.put({ cid: cidOf(2), name: 'y', numTasks: 1 }))).toBe('STORE_NO_SPACE')
    const waiting = store.whenWritable().then(() => 'writable', (e: unknown) => (e as { code: string }).code)
    await store.stop()
    expect(await waiting).toBe('STORE_NOT_OPEN')
  })
})
