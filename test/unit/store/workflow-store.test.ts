import * as dagCbor from '@ipld/dag-cbor'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Store, StoreErrorCode, type WorkflowRun } from '../../../src/store/index.js'
import { codeOf, createTestStore, dagCborCid, equalBytes } from '../../utils/store.js'

describe('WorkflowStore', () => {
  let store: Store
  let close: () => Promise<void>
  let clock = 1_700_000_000_000
  beforeEach(async () => {
    clock = 1_700_000_000_000
    ;({ store, close } = await createTestStore(() => clock))
  })
  afterEach(async () => { await close() })

  const workflow = (n: number): { cid: ReturnType<typeof dagCborCid>['cid'], bytes: Uint8Array } => dagCborCid({ tasks: [{ n }] })

  it('creates a run with defaults and reads it back, also after a restart', async () => {
    const { cid } = workflow(1)
    const created = await store.workflows.put({ cid, name: 'first', numTasks: 4 })
    const expected: WorkflowRun = {
      cid, name: 'first', status: 'pending', numTasks: 4, progress: 0,
      createdAt: clock, updatedAt: clock, retries: 0, restarts: 0
    }
    // what was written, and what a read gives: the same, with the receipts counted
    const { progress: _, ...written } = expected
    expect(created).toEqual(written)
    expect(await store.workflows.get(cid)).toEqual(expected)
    await store.stop()
    await store.start()
    expect(await store.workflows.get(cid)).toEqual(expected)
    expect(await store.workflows.get(workflow(2).cid)).toBeUndefined()
  })

  it('updates fields, stamps updatedAt, and sets and clears error, wakeAt and sleeps', async () => {
    const { cid } = workflow(1)
    await store.workflows.put({ cid, name: 'upd', numTasks: 2 })
    clock += 1000
    const running = await store.workflows.update(cid, { status: 'running' })
    expect(running.status).toBe('running')
    expect(running.updatedAt).toBe(clock)
    expect(running.createdAt).toBe(clock - 1000)
    clock += 1000
    const sleeps = { [workflow(2).cid.toString()]: clock + 5000, [workflow(3).cid.toString()]: clock + 7000 }
    const sleeping = await store.workflows.update(cid, { status: 'sleeping', wakeAt: clock + 5000, sleeps, error: { code: 'RUNTIME_TIMEOUT', message: 'timed out' } })
    expect(sleeping).toMatchObject({ status: 'sleeping', wakeAt: clock + 5000, sleeps, error: { code: 'RUNTIME_TIMEOUT', message: 'timed out' } })
    expect((await store.workflows.get(cid))?.sleeps).toEqual(sleeps)
    await expect(store.workflows.update(cid, { sleeps: { x: -1 } })).rejects.toThrow(/sleeps\.x/)
    const cleared = await store.workflows.update(cid, current => ({ status: 'running', wakeAt: null, sleeps: null, error: null, restarts: current.restarts + 1 }))
    expect(cleared.wakeAt).toBeUndefined()
    expect(cleared.sleeps).toBeUndefined()
    expect(cleared.error).toBeUndefined()
    expect(cleared.restarts).toBe(1)
    expect(await store.workflows.get(cid)).toEqual({ ...cleared, progress: 0 })
  })

  it('sets and clears the clean-stop mark, which keeps the status it is written with', async () => {
    const { cid } = workflow(1)
    await store.workflows.put({ cid, name: 'mark', numTasks: 1, status: 'sleeping' })
    expect((await store.workflows.get(cid))?.stoppedCleanly).toBeUndefined()
    expect(await store.workflows.update(cid, { stoppedCleanly: true })).toMatchObject({ status: 'sleeping', stoppedCleanly: true })
    expect(await store.workflows.get(cid)).toMatchObject({ status: 'sleeping', stoppedCleanly: true })
    // other changes keep it; false clears it
    expect(await store.workflows.update(cid, { retries: 2 })).toMatchObject({ stoppedCleanly: true })
    expect((await store.workflows.update(cid, { stoppedCleanly: false })).stoppedCleanly).toBeUndefined()
    expect((await store.workflows.get(cid))?.stoppedCleanly).toBeUndefined()
  })

  it('serializes concurrent read-modify-write updates of one run', async () => {
    const { cid } = workflow(1)
    await store.workflows.put({ cid, name: 'counter', numTasks: 1 })
    await Promise.all(Array.from({ length: 40 }, async () => await store.workflows.update(cid, r => ({ retries: r.retries + 1 }))))
    expect((await store.workflows.get(cid))?.retries).toBe(40)
  })

  it('rejects updates of unknown runs and invalid input', async () => {
    const { cid } = workflow(1)
    expect(await codeOf(store.workflows.update(cid, { status: 'running' }))).toBe(StoreErrorCode.NOT_FOUND)
    expect(await codeOf(store.workflows.put({ cid, name: 'x', numTasks: -1 }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    expect(await codeOf(store.workflows.put({ cid, name: 'x', numTasks: 1, status: 'stuck' as never }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    await store.workflows.put({ cid, name: 'x', numTasks: 1 })
    expect(await codeOf(store.workflows.update(cid, { retries: 1.5 }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    expect((await store.workflows.get(cid))?.retries).toBe(0)
  })

  it('lists runs newest first by createdAt and pages with an opaque cursor without skips or repeats', async () => {
    const cids = []
    for (let i = 0; i < 25; i++) {
      clock = 1_700_000_000_000 + Math.floor(i / 2) * 10 // pairs share a createdAt
      const { cid } = workflow(i)
      cids.push(cid)
      await store.workflows.put({ cid, name: `run-${i}`, numTasks: 1 })
    }
    const seen: WorkflowRun[] = []
    let cursor: string | undefined
    const pageSizes: number[] = []
    do {
      // updates between pages must not disturb the order
      if (cursor !== undefined) await store.workflows.update(cids[0], { status: 'running' })
      const page = await store.workflows.list({ limit: 10, ...(cursor !== undefined ? { cursor } : {}) })
      pageSizes.push(page.runs.length)
      seen.push(...page.runs)
      cursor = page.cursor
    } while (cursor !== undefined)
    expect(pageSizes).toEqual([10, 10, 5])
    expect(new Set(seen.map(r => r.cid.toString())).size).toBe(25)
    for (let i = 1; i < seen.length; i++) {
      const a = seen[i - 1]; const b = seen[i]
      expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && Buffer.compare(a.cid.bytes, b.cid.bytes) > 0)).toBe(true)
    }
    expect(seen[0].name).toBe('run-24')
    const exact = await store.workflows.list({ limit: 25 })
    expect(exact.runs.length).toBe(25)
    expect(exact.cursor).toBeUndefined()
  })

  it('filters by status and moves a run between status lists when it changes', async () => {
    for (let i = 0; i < 6; i++) {
      clock += 1
      await store.workflows.put({ cid: workflow(i).cid, name: `s${i}`, numTasks: 1, status: i % 2 === 0 ? 'running' : 'completed' })
    }
    const names = async (status: WorkflowRun['status']): Promise<string[]> => (await store.workflows.list({ status })).runs.map(r => r.name)
    expect(await names('running')).toEqual(['s4', 's2', 's0'])
    expect(await names('completed')).toEqual(['s5', 's3', 's1'])
    await store.workflows.update(workflow(2).cid, { status: 'failed', error: { code: 'X', message: 'y' } })
    expect(await names('running')).toEqual(['s4', 's0'])
    expect(await names('failed')).toEqual(['s2'])
    const page = await store.workflows.list({ status: 'completed', limit: 2 })
    expect(page.runs.map(r => r.name)).toEqual(['s5', 's3'])
    const rest = await store.workflows.list({ status: 'completed', limit: 2, cursor: page.cursor as string })
    expect(rest.runs.map(r => r.name)).toEqual(['s1'])
    // replacing a run with put also moves its index entries
    await store.workflows.put({ cid: workflow(4).cid, name: 's4', numTasks: 1, status: 'cancelled', createdAt: 5 })
    expect(await names('running')).toEqual(['s0'])
    expect((await store.workflows.list()).runs.map(r => r.name)).toEqual(['s5', 's3', 's2', 's1', 's0', 's4'])
  })

  it('rejects a bad cursor, limit or status filter', async () => {
    expect(await codeOf(store.workflows.list({ cursor: 'not a cursor!' }))).toBe(StoreErrorCode.INVALID_CURSOR)
    expect(await codeOf(store.workflows.list({ cursor: Buffer.from('garbage-garbage').toString('base64url') }))).toBe(StoreErrorCode.INVALID_CURSOR)
    expect(await codeOf(store.workflows.list({ limit: 0 }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    expect(await codeOf(store.workflows.list({ limit: 5000 }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
    expect(await codeOf(store.workflows.list({ status: 'stuck' as never }))).toBe(StoreErrorCode.INVALID_ARGUMENT)
  })

  it('stores the workflow body with the run, checked against the workflow CID', async () => {
    const { cid, bytes } = workflow(1)
    await store.workflows.put({ cid, name: 'with-body', numTasks: 1 }, { body: bytes })
    expect(equalBytes(await store.workflows.getBody(cid) as Uint8Array, bytes)).toBe(true)
    expect(dagCbor.decode(await store.workflows.getBody(cid) as Uint8Array)).toEqual({ tasks: [{ n: 1 }] })
    const other = workflow(2)
    expect(await codeOf(store.workflows.put({ cid: other.cid, name: 'wrong-body', numTasks: 1 }, { body: bytes }))).toBe(StoreErrorCode.BLOCK_INVALID)
    expect(await store.workflows.get(other.cid)).toBeUndefined()
    await store.workflows.putBody(other.cid, other.bytes)
    expect(equalBytes(await store.workflows.getBody(other.cid) as Uint8Array, other.bytes)).toBe(true)
  })
})
