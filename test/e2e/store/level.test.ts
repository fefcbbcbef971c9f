import * as dagCbor from '@ipld/dag-cbor'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { Bucket, SCHEMA_VERSION, Store, StoreErrorCode } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { codeOf, makeReceipt, RAW, sha256Cid, tempDir, withRawLevel } from '../../utils/store.js'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..', '..')

describe('store lifecycle (LevelDB controller)', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.()
  })

  async function newDir (): Promise<string> {
    const { dir, cleanup } = await tempDir()
    cleanups.push(cleanup)
    return dir
  }

  function newStore (dataDir: string): Store {
    const store = new Store({ dataDir }, { logger: silentLogger() })
    cleanups.push(async () => { await store.stop() })
    return store
  }

  it('opens <dataDir>/store, answers ping with a real read and reports its size', async () => {
    const dir = await newDir()
    const store = newStore(dir)
    await store.start()
    expect(store.location).toBe(join(dir, 'store'))
    expect((await stat(store.location)).isDirectory()).toBe(true)
    const health = await store.ping()
    expect(health.latencyMs).toBeGreaterThanOrEqual(0)
    const before = await store.sizeBytes()
    expect(before).toBeGreaterThan(0)
    const blob = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251)
    await store.blocks.put(await sha256Cid(RAW, blob), blob, { sync: true })
    expect(await store.sizeBytes()).toBeGreaterThan(before + 100_000)
  })

  it('refuses a second store on the same directory with STORE_LOCKED, and opens once released', async () => {
    const dir = await newDir()
    const first = newStore(dir)
    await first.start()
    const second = newStore(dir)
    const err = await second.start().then(() => undefined, (e: unknown) => e as { code: string, data: { location: string } })
    expect(err?.code).toBe(StoreErrorCode.LOCKED)
    expect(err?.data.location).toBe(join(dir, 'store'))
    await first.stop()
    await second.start()
    expect((await second.ping()).latencyMs).toBeGreaterThanOrEqual(0)
  })

  it('refuses a store held by another process with STORE_LOCKED', async () => {
    const dir = await newDir()
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'hold-store.ts'), dir], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] })
    const exited = once(child, 'exit')
    try {
      let out = ''
      child.stdout.setEncoding('utf8')
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: string) => { out += d; if (out.includes('ready\n')) resolve() })
        child.once('exit', code => { reject(new Error(`holder exited early: ${String(code)}`)) })
      })
      const store = newStore(dir)
      expect(await codeOf(store.start())).toBe(StoreErrorCode.LOCKED)
    } finally {
      child.stdin.end()
      await exited
    }
    const store = newStore(dir)
    await store.start()
    await store.ping()
  })

  it('fails with STORE_NOT_OPEN before start and after stop; start and stop are idempotent', async () => {
    const dir = await newDir()
    const store = newStore(dir)
    const r = makeReceipt('life', 1)
    expect(await codeOf(store.ping())).toBe(StoreErrorCode.NOT_OPEN)
    expect(await codeOf(store.receipts.get(r.cid))).toBe(StoreErrorCode.NOT_OPEN)
    await store.start()
    await store.start()
    await store.receipts.put(r)
    await store.stop()
    await store.stop()
    expect(await codeOf(store.ping())).toBe(StoreErrorCode.NOT_OPEN)
    expect(await codeOf(store.receipts.put(makeReceipt('life', 2)))).toBe(StoreErrorCode.NOT_OPEN)
    expect(await codeOf(store.blocks.get(r.cid))).toBe(StoreErrorCode.NOT_OPEN)
    await store.start()
    expect(await store.receipts.has(r.cid)).toBe(true)
  })

  it('serializes concurrent start and stop calls', async () => {
    const store = newStore(await newDir())
    await Promise.all([store.start(), store.start(), store.start()])
    await store.ping()
    const order = [store.stop(), store.start(), store.stop(), store.start()]
    await Promise.all(order)
    await store.ping()
  })

  it('stop waits for writes in flight; every write that resolved is there after a restart', async () => {
    const store = newStore(await newDir())
    await store.start()
    const rs = Array.from({ length: 40 }, (_, i) => makeReceipt('stop', i))
    const puts = rs.map(async r => await store.receipts.put(r).then(() => 'ok', (e: { code: string }) => e.code))
    await Promise.race(puts)
    const stopped = store.stop()
    const outcomes = await Promise.all(puts)
    await stopped
    expect(outcomes.every(o => o === 'ok' || o === StoreErrorCode.NOT_OPEN)).toBe(true)
    expect(outcomes.filter(o => o === 'ok').length).toBeGreaterThan(0)
    await store.start()
    for (let i = 0; i < rs.length; i++) {
      if (outcomes[i] === 'ok') expect(await store.receipts.has(rs[i].cid)).toBe(true)
    }
  })

  it('upgrades a schema 1 store: each instruction gets its first ok receipt entry, and lookups find them', async () => {
    const dir = await newDir()
    const store = newStore(dir)
    await store.start()
    // instruction 1: an error, then two different ok receipts (the first written is the one to reuse)
    const err = makeReceipt('up', 1, 'error')
    const ok1 = makeReceipt('up', 1, 'ok', 0)
    const ok2 = makeReceipt('up', 1, 'ok', 1)
    const other = makeReceipt('up', 2)
    const failedOnly = makeReceipt('up', 3, 'error')
    for (const r of [err, ok1, ok2, other, failedOnly]) await store.receipts.put(r)
    await store.stop()
    // make it what schema 1 wrote: no first-ok entries, version 1
    const schemaKey = Uint8Array.from([Bucket.meta, ...new TextEncoder().encode('schemaVersion')])
    await withRawLevel(store, async db => {
      const firsts: Uint8Array[] = []
      for await (const k of db.keys({ gte: Uint8Array.of(Bucket.receiptFirstOk), lt: Uint8Array.of(Bucket.receiptFirstOk + 1) })) firsts.push(k)
      expect(firsts.length).toBe(2)
      await db.batch([...firsts.map(k => ({ type: 'del' as const, key: k })), { type: 'put', key: schemaKey, value: dagCbor.encode(1) }])
    })
    const reopened = newStore(dir)
    await reopened.start()
    const found = await reopened.receipts.getManyByInstruction([ok1.instruction, other.instruction, failedOnly.instruction])
    expect(found.map(f => f?.cid.toString())).toEqual([ok1.cid.toString(), other.cid.toString(), undefined])
    await reopened.stop()
    const { checkConsistency } = await import('./consistency.js')
    await withRawLevel(store, async db => {
      expect(dagCbor.decode(await db.get(schemaKey))).toBe(SCHEMA_VERSION)
      expect((await checkConsistency(db)).problems).toEqual([])
    })
  })

  it('writes its schema version and refuses a database from a newer schema', async () => {
    const dir = await newDir()
    const store = newStore(dir)
    await store.start()
    await store.stop()
    const schemaKey = Uint8Array.from([Bucket.meta, ...new TextEncoder().encode('schemaVersion')])
    await withRawLevel(store, async db => {
      expect(dagCbor.decode(await db.get(schemaKey))).toBe(SCHEMA_VERSION)
      await db.put(schemaKey, dagCbor.encode(SCHEMA_VERSION + 1))
    })
    expect(await codeOf(store.start())).toBe(StoreErrorCode.SCHEMA_UNSUPPORTED)
    // a failed start leaves the database closed, so it can be opened again
    await withRawLevel(store, async db => { await db.put(schemaKey, dagCbor.encode(SCHEMA_VERSION)) })
    await store.start()
    await store.ping()
  })
})
