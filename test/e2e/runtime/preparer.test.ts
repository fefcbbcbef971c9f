import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RuntimeErrorCode } from '../../../src/runtime/errors.js'
import { Preparer } from '../../../src/runtime/workers/preparer.js'
import { silentLogger } from '../../../src/util/logger.js'
import { buildHomestar030Component } from '../../utils/wasm.js'
import { waitUntil } from '../../utils/wait.js'
import { rejectsWith } from './helpers.js'

describe('Preparer: Wasm prepared in a process of its own', () => {
  it('prepares a component in a child process, which exits once idle; a crash of it fails the preparation, not the node', async () => {
    const component = await buildHomestar030Component()
    const preparer = new Preparer({ timeoutMs: 120_000, idleMs: 300 }, { logger: silentLogger() })
    try {
      expect(preparer.pid).toBeUndefined()
      const artifact = await preparer.prepare('bafy-component', component)
      expect(artifact.description.kind).toBe('component')
      expect(Object.values(artifact.modules).every(m => m instanceof WebAssembly.Module)).toBe(true)
      // the process that did it is another one, and it goes once idle
      const pid = preparer.pid
      expect(pid).toBeTypeOf('number')
      expect(pid).not.toBe(process.pid)
      await waitUntil(() => preparer.pid === undefined, 20_000, 'the preparation process gone once idle')
      await waitUntil(() => !alive(pid!), 20_000, 'its pid gone')

      // killed while it works: the preparation fails as a crash, and the next one gets a fresh process
      const doomed = preparer.prepare('bafy-doomed', component)
      const victim = preparer.pid!
      process.kill(victim, 'SIGKILL')
      await rejectsWith(doomed, RuntimeErrorCode.WORKER_CRASHED)
      const again = await preparer.prepare('bafy-again', component)
      expect(again.description.kind).toBe('component')
      expect(preparer.pid).not.toBe(victim)
    } finally {
      await preparer.stop()
    }
  }, 120_000)

  it('stop waits for the preparations under way (no cache file is read or written after it), and one caught reading the cache starts no process', async () => {
    const component = await buildHomestar030Component()
    const cacheDir = mkdtempSync(join(tmpdir(), 'ipvm-preparer-cache-'))
    try {
      const preparer = new Preparer({ cacheDir, timeoutMs: 120_000, idleMs: 300 }, { logger: silentLogger() })
      let settled = false
      const preparing = preparer.prepare('bafy-stopped', component)
      preparing.then(() => { settled = true }, () => { settled = true })
      await preparer.stop()
      expect(settled).toBe(true)
      await rejectsWith(preparing, RuntimeErrorCode.NOT_RUNNING)
      expect(preparer.pid).toBeUndefined()
    } finally {
      rmSync(cacheDir, { recursive: true, force: true })
    }
  }, 120_000)
})

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
