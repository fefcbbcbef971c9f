import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { LevelController, type BatchOp, type Database, type RangeOptions } from '../../src/store/level.js'
import { silentLogger } from '../../src/util/logger.js'

type Bytes = Uint8Array

/** A LevelDB database (the `Database` the store's LevelController takes) that counts the reads made of it. */
export interface CountingDatabase extends Database {
  /** `getSync` calls (one key each). */
  syncReads: number
  /** `getMany` and `hasMany` calls. */
  asyncReads: number
  /** Keys read, by either. */
  keysRead: number
}

export function countingLevel (location: string): CountingDatabase {
  const db = new Level<Bytes, Bytes>(location, { keyEncoding: 'view', valueEncoding: 'view' })
  const counting: CountingDatabase = {
    syncReads: 0,
    asyncReads: 0,
    keysRead: 0,
    get status () { return db.status },
    open: async () => { await db.open() },
    close: async () => { await db.close() },
    getSync: (key: Bytes) => { counting.syncReads++; counting.keysRead++; return db.getSync(key) },
    getMany: async (keys: Bytes[]) => { counting.asyncReads++; counting.keysRead += keys.length; return await db.getMany(keys) },
    hasMany: async (keys: Bytes[]) => { counting.asyncReads++; counting.keysRead += keys.length; return await db.hasMany(keys) },
    put: async (key: Bytes, value: Bytes, options: { sync: boolean }) => { await db.put(key, value, options) },
    batch: async (ops: BatchOp[], options: { sync: boolean }) => { await db.batch(ops, options) },
    iterator: (range: RangeOptions) => db.iterator(range),
    keys: (range: RangeOptions) => db.keys(range)
  }
  return counting
}

/** A started LevelController over a `countingLevel` in a fresh temporary folder; `close` stops it and removes the folder. */
export async function countingController (prefix: string): Promise<{ level: LevelController, db: CountingDatabase, close: () => Promise<void> }> {
  const location = mkdtempSync(join(tmpdir(), prefix))
  const db = countingLevel(location)
  const level = new LevelController({ location }, { logger: silentLogger(), database: () => db })
  await level.start()
  return { level, db, close: async () => { await level.stop(); rmSync(location, { recursive: true, force: true }) } }
}
