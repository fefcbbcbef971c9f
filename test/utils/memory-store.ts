import { MemoryLevel } from 'memory-level'
import { Store } from '../../src/store/index.js'
import { silentLogger } from '../../src/util/logger.js'

/** A started `Store` whose database lives in memory: no files, nothing left behind. */
export async function memoryStore (now?: () => number): Promise<Store> {
  const store = new Store({ dataDir: ':memory:' }, {
    logger: silentLogger(),
    database: () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }),
    ...(now !== undefined ? { now } : {})
  })
  await store.start()
  return store
}
