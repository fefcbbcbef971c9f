import * as dagCbor from '@ipld/dag-cbor'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Bucket, type Store, StoreErrorCode } from '../../../src/store/index.js'
import { codeOf, createTestStore, dagCborCid, equalBytes, makeReceipt, RAW, sha256Cid, sha3Cid, withRawLevel } from '../../utils/store.js'

const str = (cids: Array<{ toString: () => string }>): string[] => cids.map(c => c.toString())

describe('ReceiptStore', () => {
  let store: Store
  let close: () => Promise<void>
  beforeEach(async () => { ({ store, close } = await createTestStore()) })
  afterEach(async () => { await close() })

  const wfA = dagCborCid({ tasks: ['a'] }).cid
  const wfB = dagCborCid({ tasks: ['b'] }).cid

  it('stores a receipt and finds it by CID and by instruction', async () => {
    const r = makeReceipt('basic', 1)
    expect(await store.receipts.has(r.cid)).toBe(false)
    expect(await store.receipts.put({ ...r, workflow: wfA })).toEqual({ stored: true, filed: true })
    expect(await store.receipts.has(r.cid)).toBe(true)
    expect(equalBytes(await store.receipts.get(r.cid) as Uint8Array, r.bytes)).toBe(true)
    const byInstruction = await store.receipts.getByInstruction(r.instruction)
    expect(byInstruction?.cid.toString()).toBe(r.cid.toString())
    expect(equalBytes(byInstruction?.bytes as Uint8Array, r.bytes)).toBe(true)
    expect(dagCbor.decode<{ out: unknown[] }>(byInstruction?.bytes as Uint8Array).out).toEqual(['ok', 2])
    expect(str(await store.receipts.listForWorkflow(wfA))).toEqual([r.cid.toString()])
    expect(await store.receipts.get(makeReceipt('basic', 2).cid)).toBeUndefined()
    expect(await store.receipts.getByInstruction(makeReceipt('basic', 2).instruction)).toBeUndefined()
  })

  it('is idempotent, and files an existing receipt under a second workflow', async () => {
    const r = makeReceipt('idem', 7)
    await store.receipts.put({ ...r, workflow: wfA })
    expect(await store.receipts.put({ ...r, workflow: wfA })).toEqual({ stored: false, filed: false })
    expect(await store.receipts.put(r)).toEqual({ stored: false, filed: false })
    expect(await store.receipts.put({ ...r, workflow: wfB })).toEqual({ stored: false, filed: true })
    expect(await store.receipts.count()).toBe(1)
    expect(str(await store.receipts.listForWorkflow(wfA))).toEqual([r.cid.toString()])
    expect(str(await store.receipts.listForWorkflow(wfB))).toEqual([r.cid.toString()])
    expect((await store.receipts.listByInstruction(r.instruction)).length).toBe(1)
  })

  it('fileUnder files stored receipts under another workflow in order, once, also when it races with itself and with put', async () => {
    const rs = Array.from({ length: 5 }, (_, i) => makeReceipt('file', i))
    for (const r of rs) await store.receipts.put({ ...r, workflow: wfA })
    const order = [3, 1, 4, 0, 2]
    expect(await store.receipts.fileUnder(wfB, [rs[3].cid, rs[1].cid, rs[3].cid])).toEqual([true, true, false])
    const again = await Promise.all([
      store.receipts.fileUnder(wfB, [rs[4].cid, rs[0].cid]),
      store.receipts.fileUnder(wfB, [rs[4].cid, rs[0].cid]),
      store.receipts.put({ ...rs[4], workflow: wfB })
    ])
    expect(again[0].filter(Boolean).length + again[1].filter(Boolean).length + (again[2].filed ? 1 : 0)).toBe(2)
    expect(await store.receipts.fileUnder(wfB, [rs[2].cid, rs[1].cid])).toEqual([true, false])
    expect(str(await store.receipts.listForWorkflow(wfB))).toEqual(str(order.map(i => rs[i].cid)))
    expect(str(await store.receipts.listForWorkflow(wfA))).toEqual(str(rs.map(r => r.cid)))
    expect(await store.receipts.fileUnder(wfB, [])).toEqual([])
  })

  it('files a receipt once under a workflow even when the same put races with itself', async () => {
    const r = makeReceipt('race', 3)
    const results = await Promise.all(Array.from({ length: 20 }, async () => await store.receipts.put({ ...r, workflow: wfA })))
    expect(results.filter(x => x.stored).length).toBe(1)
    expect(results.filter(x => x.filed).length).toBe(1)
    expect(await store.receipts.countForWorkflow(wfA)).toBe(1)
  })

  it('lists a workflow\'s receipts in the order they were written, not in CID order', async () => {
    const rs = Array.from({ length: 12 }, (_, i) => makeReceipt('order', i))
    const order = [5, 0, 11, 3, 7, 1, 9, 2, 10, 4, 8, 6]
    for (const i of order) await store.receipts.put({ ...rs[i], workflow: wfA })
    const expected = order.map(i => rs[i].cid.toString())
    expect(str(await store.receipts.listForWorkflow(wfA))).toEqual(expected)
    expect([...expected].sort()).not.toEqual(expected)
    expect(await store.receipts.countForWorkflow(wfA)).toBe(12)
    expect(await store.receipts.countForWorkflow(wfB)).toBe(0)
    expect(await store.receipts.count()).toBe(12)
  })

  it('keeps the write order across a restart (the sequence is recovered, never reused)', async () => {
    const rs = Array.from({ length: 6 }, (_, i) => makeReceipt('restart', i))
    for (const r of rs.slice(0, 3)) await store.receipts.put({ ...r, workflow: wfA })
    await store.stop()
    await store.start()
    for (const r of rs.slice(3)) await store.receipts.put({ ...r, workflow: wfA })
    expect(str(await store.receipts.listForWorkflow(wfA))).toEqual(str(rs.map(r => r.cid)))
    const seqs = (await Promise.all(rs.map(async r => await store.receipts.listByInstruction(r.instruction)))).map(e => e[0].seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(6)
  })

  it('getByInstruction returns the first ok receipt written; error receipts are listed but never returned', async () => {
    const err1 = makeReceipt('multi', 1, 'error', 0)
    const okA = makeReceipt('multi', 1, 'ok', 1)
    const okB = makeReceipt('multi', 1, 'ok', 2)
    const err2 = makeReceipt('multi', 1, 'error', 3)
    expect(err1.instruction.equals(okA.instruction)).toBe(true)
    await store.receipts.put(err1)
    expect(await store.receipts.getByInstruction(err1.instruction)).toBeUndefined()
    await store.receipts.put(okA)
    await store.receipts.put(okB)
    await store.receipts.put(err2)
    expect((await store.receipts.getByInstruction(okA.instruction))?.cid.toString()).toBe(okA.cid.toString())
    const entries = await store.receipts.listByInstruction(okA.instruction)
    expect(entries.map(e => [e.cid.toString(), e.outcome])).toEqual([
      [err1.cid.toString(), 'error'], [okA.cid.toString(), 'ok'], [okB.cid.toString(), 'ok'], [err2.cid.toString(), 'error']
    ])
  })

  it('putMany writes a batch in input order, handles repeats inside the batch, and is all or nothing', async () => {
    const rs = Array.from({ length: 5 }, (_, i) => makeReceipt('many', i))
    await store.receipts.put({ ...rs[0], workflow: wfA })
    const results = await store.receipts.putMany([
      { ...rs[0], workflow: wfA }, { ...rs[1], workflow: wfA }, { ...rs[2], workflow: wfA },
      { ...rs[1], workflow: wfA }, { ...rs[1], workflow: wfB }, rs[3]
    ])
    expect(results).toEqual([
      { stored: false, filed: false }, { stored: true, filed: true }, { stored: true, filed: true },
      { stored: false, filed: false }, { stored: false, filed: true }, { stored: true, filed: false }
    ])
    expect(str(await store.receipts.listForWorkflow(wfA))).toEqual(str([rs[0].cid, rs[1].cid, rs[2].cid]))
    expect(str(await store.receipts.listForWorkflow(wfB))).toEqual([rs[1].cid.toString()])
    expect(await store.receipts.count()).toBe(4)
    const broken = { ...makeReceipt('many', 9), bytes: rs[4].bytes }
    expect(await codeOf(store.receipts.putMany([{ ...rs[4], workflow: wfA }, broken]))).toBe(StoreErrorCode.RECEIPT_INVALID)
    expect(await store.receipts.has(rs[4].cid)).toBe(false)
    expect(await store.receipts.putMany([])).toEqual([])
  })

  it('refuses bytes that do not match the CID, non-receipts and non-dag-cbor CIDs', async () => {
    const r = makeReceipt('bad', 1)
    const other = makeReceipt('bad', 2)
    expect(await codeOf(store.receipts.put({ ...r, bytes: other.bytes }))).toBe(StoreErrorCode.RECEIPT_INVALID)
    const notReceipt = dagCborCid({ ran: r.instruction, out: 'ok' })
    expect(await codeOf(store.receipts.put({ cid: notReceipt.cid, instruction: r.instruction, bytes: notReceipt.bytes }))).toBe(StoreErrorCode.RECEIPT_INVALID)
    expect(await codeOf(store.receipts.put({ cid: sha3Cid(RAW, r.bytes), instruction: r.instruction, bytes: r.bytes }))).toBe(StoreErrorCode.RECEIPT_INVALID)
    expect(await codeOf(store.receipts.put({ cid: await sha256Cid(0x0129, r.bytes), instruction: r.instruction, bytes: r.bytes }))).toBe(StoreErrorCode.UNSUPPORTED_CID)
    expect(await codeOf(store.receipts.put({ ...r, instruction: 'not a cid' as never }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    expect(await store.receipts.count()).toBe(0)
  })

  it('reports a receipt corrupted on disk as STORE_RECEIPT_CORRUPT', async () => {
    const r = makeReceipt('corrupt', 1)
    await store.receipts.put(r)
    await store.stop()
    await withRawLevel(store, async db => {
      const k = Uint8Array.from([Bucket.receipts, ...r.cid.bytes])
      const bad = Uint8Array.from(await db.get(k))
      bad[4] ^= 0x20
      await db.put(k, bad)
    })
    await store.start()
    expect(await codeOf(store.receipts.get(r.cid))).toBe(StoreErrorCode.RECEIPT_CORRUPT)
    expect(await codeOf(store.receipts.getByInstruction(r.instruction))).toBe(StoreErrorCode.RECEIPT_CORRUPT)
  })

  it('counts receipts filed under a workflow as the run\'s progress', async () => {
    await store.workflows.put({ cid: wfA, name: 'progress', numTasks: 3 })
    for (let i = 0; i < 3; i++) await store.receipts.put({ ...makeReceipt('prog', i), workflow: wfA })
    await store.receipts.put(makeReceipt('prog', 99))
    expect((await store.workflows.get(wfA))?.progress).toBe(3)
  })
})
