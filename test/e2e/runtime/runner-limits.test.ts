import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RuntimeErrorCode, WasmRunner } from '../../../src/runtime/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { buildTestComponent, buildTestCoreModule } from '../../utils/wasm.js'
import { rejectsWith } from './helpers.js'

const MIB = 1024 * 1024

describe('WasmRunner: limits, cancellation and failures', () => {
  const runner = new WasmRunner({ workers: 2 }, { logger: silentLogger() })
  let component: Uint8Array
  let core: Uint8Array

  beforeAll(async () => {
    component = await buildTestComponent()
    core = await buildTestCoreModule()
    await runner.start()
  })
  afterAll(async () => runner.stop())

  it('stops a call that runs past timeoutMs, then serves the next call', async () => {
    // the timeout fired (a call that spins forever ends, with TIMEOUT); how soon is for npm run bench
    const started = performance.now()
    const err = await rejectsWith(runner.run({ key: 'bafycomp', wasm: component, func: 'spin', args: [], timeoutMs: 200 }),
      RuntimeErrorCode.TIMEOUT, true)
    expect(err.data).toEqual({ timeoutMs: 200 })
    expect(performance.now() - started).toBeGreaterThanOrEqual(200)
    await rejectsWith(runner.run({ key: 'bafycore', wasm: core, func: 'spin', args: [], timeoutMs: 200 }), RuntimeErrorCode.TIMEOUT, true)
    expect((await runner.run({ key: 'bafycomp', wasm: component, func: 'add_one', args: [1] })).output).toBe(2)
  })

  it('keeps the main thread free while a call spins', async () => {
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 10)
    await rejectsWith(runner.run({ key: 'bafycore', wasm: core, func: 'spin', args: [], timeoutMs: 300 }), RuntimeErrorCode.TIMEOUT)
    clearInterval(timer)
    // Wasm on the main thread would let no timer fire until the call ended
    expect(ticks).toBeGreaterThan(0)
  })

  it('stops a memory bomb at memoryBytes without growing the process', async () => {
    const before = process.memoryUsage().rss
    // 16384 pages = 1 GiB, every 4 KiB page written
    const err = await rejectsWith(runner.run({ key: 'bafycore', wasm: core, func: 'fill', args: [16384], memoryBytes: 64 * MIB }),
      RuntimeErrorCode.MEMORY_LIMIT, true)
    expect(err.data).toMatchObject({ limitBytes: 64 * MIB })
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * MIB)
    // under the cap the same function works
    expect((await runner.run({ key: 'bafycore', wasm: core, func: 'fill', args: [16], memoryBytes: 64 * MIB })).output).toBe(1)
    await rejectsWith(runner.run({ key: 'bafycomp', wasm: component, func: 'grow', args: [100], memoryBytes: MIB }), RuntimeErrorCode.MEMORY_LIMIT)
    expect((await runner.run({ key: 'bafycomp', wasm: component, func: 'grow', args: [1], memoryBytes: 2 * 65536 })).output).toBe(1)
    // a module whose initial memory is above the cap does not start
    await rejectsWith(runner.run({ key: 'bafycomp', wasm: component, func: 'add_one', args: [1], memoryBytes: 1000 }), RuntimeErrorCode.MEMORY_LIMIT)
  })

  it('cancels a running call when its signal aborts, then serves the next call', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    // no timeoutMs: only the abort can end this call
    await rejectsWith(runner.run({ key: 'bafycomp', wasm: component, func: 'spin', args: [], signal: controller.signal }),
      RuntimeErrorCode.CANCELLED, false)
    await rejectsWith(runner.run({ key: 'bafycomp', wasm: component, func: 'add_one', args: [1], signal: AbortSignal.abort() }),
      RuntimeErrorCode.CANCELLED, false)
    expect((await runner.run({ key: 'bafycomp', wasm: component, func: 'add_one', args: [1] })).output).toBe(2)
  })

  it('cancels a queued call without touching the running one', async () => {
    const single = new WasmRunner({ workers: 1 }, { logger: silentLogger() })
    await single.start()
    try {
      expect((await single.run({ key: 'bafycore', wasm: core, func: 'add_one', args: [1] })).output).toBe(2)
      const spinning = new AbortController()
      const running = single.run({ key: 'bafycore', wasm: core, func: 'spin', args: [], signal: spinning.signal })
      const queued = new AbortController()
      const waiting = single.run({ key: 'bafycore', wasm: core, func: 'add_one', args: [1], signal: queued.signal })
      queued.abort()
      await rejectsWith(waiting, RuntimeErrorCode.CANCELLED)
      spinning.abort()
      await rejectsWith(running, RuntimeErrorCode.CANCELLED)
      expect((await single.run({ key: 'bafycore', wasm: core, func: 'add_one', args: [2] })).output).toBe(3)
    } finally {
      await single.stop()
    }
  })

  it('replaces a worker that dies (JS heap exhausted by a huge output) and reports it as retryable', async () => {
    const small = new WasmRunner({ workers: 1, workerHeapMb: 16 }, { logger: silentLogger() })
    await small.start()
    try {
      await rejectsWith(small.run({ key: 'bafycomp', wasm: component, func: 'many_strings', args: [4_000_000] }),
        RuntimeErrorCode.WORKER_CRASHED, true)
      expect((await small.run({ key: 'bafycomp', wasm: component, func: 'many_strings', args: [2] })).output).toEqual(['run-fn', 'run-fn'])
    } finally {
      await small.stop()
    }
  })

  it('keeps prepared Wasm in cacheDir across runners', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'ipvm-runtime-'))
    try {
      const first = new WasmRunner({ workers: 1, cacheDir }, { logger: silentLogger() })
      await first.start()
      expect((await first.run({ key: 'bafycached', wasm: component, func: 'add_one', args: [1] })).output).toBe(2)
      await first.stop()
      const manifest = JSON.parse(await readFile(join(cacheDir, 'bafycached', 'manifest.json'), 'utf8')) as { description: { kind: string } }
      expect(manifest.description.kind).toBe('component')
      const second = new WasmRunner({ workers: 1, cacheDir }, { logger: silentLogger() })
      await second.start()
      // served from the cache: the bytes passed this time are never read
      const result = await second.run({ key: 'bafycached', wasm: new Uint8Array([1, 2, 3]), func: 'add_one', args: [2] })
      expect(result.output).toBe(3)
      await second.stop()
    } finally {
      await rm(cacheDir, { recursive: true, force: true })
    }
  })

  it('refuses calls when not started', async () => {
    const stopped = new WasmRunner({ workers: 1 }, { logger: silentLogger() })
    await rejectsWith(stopped.run({ key: 'bafycore', wasm: core, func: 'add_one', args: [1] }), RuntimeErrorCode.NOT_RUNNING)
  })
})
