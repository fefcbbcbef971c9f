import { readdirSync, readFileSync } from 'node:fs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RuntimeErrorCode, WasmRunner, type RunResult } from '../../../src/runtime/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { buildTestCoreModule } from '../../utils/wasm.js'
import { waitUntil } from '../../utils/wait.js'
import { rejectsWith } from './helpers.js'

const KEY = 'bafyfaircore'

/** What became of a call, in the order calls settled. */
interface Settled { name: string, ok: boolean, code?: string }

describe('WasmRunner: workers shared between groups (runs)', () => {
  let core: Uint8Array
  const runners: WasmRunner[] = []
  const controllers: AbortController[] = []

  beforeAll(async () => { core = await buildTestCoreModule() })
  afterEach(async () => {
    for (const c of controllers.splice(0)) c.abort()
    for (const r of runners.splice(0)) await r.stop()
  })

  async function runner (workers: number, reliefAfterMs = 100, maxExtraWorkers?: number): Promise<WasmRunner> {
    const r = new WasmRunner({ workers, reliefAfterMs, extraIdleMs: 500, ...(maxExtraWorkers !== undefined ? { maxExtraWorkers } : {}) }, { logger: silentLogger() })
    runners.push(r)
    await r.start()
    return r
  }

  /** Starts `n` endless calls for `group`, cancelled by the returned controller; each records itself in `log` when it settles. */
  function spin (r: WasmRunner, group: string, n: number, log: Settled[]): { calls: Array<Promise<RunResult | undefined>>, controller: AbortController } {
    const controller = new AbortController()
    controllers.push(controller)
    const calls = Array.from({ length: n }, async (_, i) => {
      try {
        return await r.run({ key: KEY, wasm: core, func: 'spin', args: [], timeoutMs: 600_000, signal: controller.signal, group })
      } catch (err) {
        log.push({ name: `${group}${i}`, ok: false, code: (err as { code?: string }).code })
        return undefined
      }
    })
    return { calls, controller }
  }

  it('runs a call that has run long at the lowest priority (Linux), and its worker at the normal one again after', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('thread priorities are Linux\'s (a thread id in /proc)')
    const niceValues = (): number[] => readdirSync('/proc/self/task').flatMap(tid => {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
        return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])]
      } catch {
        return [] // the thread ended meanwhile
      }
    })
    // a call that never ends: its thread is seen at nice 19
    const r = await runner(1)
    const log: Settled[] = []
    const endless = spin(r, 'endless', 1, log)
    await waitUntil(() => r.poolStats().lowPriority === 1, 20_000, 'the endless call at the lowest priority')
    expect(niceValues()).toContain(19)
    endless.controller.abort()
    await Promise.all(endless.calls)
    // its worker is terminated: the thread goes
    await waitUntil(() => !niceValues().includes(19), 20_000, 'the endless call\'s thread gone')
    // a call that runs past longCallMs and ends (at nice 19 it may wait long for the processor
    // on a busy machine: it is kept short): lowered once, and its worker back at the normal
    // priority after it; the next call runs there as before
    const short = new WasmRunner({ workers: 1, longCallMs: 10 }, { logger: silentLogger() })
    runners.push(short)
    await short.start()
    // (on a loaded machine even add_one may run past 10 ms: the counts are compared, not fixed)
    expect((await short.run({ key: KEY, wasm: core, func: 'add_one', args: [1] })).output).toBe(2)
    const before = short.poolStats().longCalls
    expect((await short.run({ key: KEY, wasm: core, func: 'burn', args: [100_000_000], timeoutMs: 600_000 })).output).toBe(100_000_000)
    expect(short.poolStats()).toMatchObject({ workers: 1, busy: 0, lowPriority: 0, longCalls: before + 1 })
    expect(niceValues()).not.toContain(19)
    expect((await short.run({ key: KEY, wasm: core, func: 'add_one', args: [1] })).output).toBe(2)
    expect(short.poolStats()).toMatchObject({ workers: 1, busy: 0, lowPriority: 0 })
    expect(niceValues()).not.toContain(19)
  }, 120_000)

  it('starts workers only when calls wait for them, at most `workers`, and lets each go once idle for workerIdleMs', async () => {
    const r = new WasmRunner({ workers: 2, workerIdleMs: 300 }, { logger: silentLogger() })
    runners.push(r)
    await r.start()
    // an idle runner holds no thread
    expect(r.poolStats()).toMatchObject({ workers: 0, busy: 0 })
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [1] })).output).toBe(2)
    expect(r.poolStats().workers).toBe(1)
    // three calls that never end: two workers start, the third call waits
    const log: Settled[] = []
    const a = spin(r, 'A', 3, log)
    await waitUntil(() => r.poolStats().busy === 2, 10_000, 'both workers busy')
    expect(r.poolStats()).toMatchObject({ workers: 2, extra: 0, queued: 1 })
    a.controller.abort()
    await Promise.all(a.calls)
    // aborted calls stop their workers; a worker started meanwhile for the queued call goes once idle
    await waitUntil(() => r.poolStats().workers === 0, 10_000, 'workers gone after the aborts')
    expect(log.map(l => l.code)).toEqual(['RUNTIME_CANCELLED', 'RUNTIME_CANCELLED', 'RUNTIME_CANCELLED'])
    // an idle worker stops after workerIdleMs; the next call starts a fresh one
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [41] })).output).toBe(42)
    expect(r.poolStats().workers).toBe(1)
    await waitUntil(() => r.poolStats().workers === 0, 10_000, 'the idle worker stops')
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [2] })).output).toBe(3)
  })

  it('starts a second worker only once calls have kept waiting growAfterMs: short calls one worker keeps up with hold one thread', async () => {
    const growAfterMs = 1000
    const r = new WasmRunner({ workers: 2, growAfterMs }, { logger: silentLogger() })
    runners.push(r)
    await r.start()
    // 40 short calls at once: the first worker takes them all in a few ms, no second starts
    const outputs = await Promise.all(Array.from({ length: 40 }, async (_, i) => (await r.run({ key: KEY, wasm: core, func: 'add_one', args: [i] })).output))
    expect(outputs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    expect(r.poolStats()).toMatchObject({ workers: 1, busy: 0, queued: 0 })
    // calls left waiting longer than growAfterMs because this thread was too busy to hand them
    // out, not the worker: another worker would not help, and none starts
    const held = Array.from({ length: 10 }, async () => (await r.run({ key: KEY, wasm: core, func: 'burn', args: [5_000_000] })).output)
    await waitUntil(() => r.poolStats().queued >= 5, 10_000, 'calls waiting', 1)
    const until = performance.now() + 1.5 * growAfterMs
    while (performance.now() < until) { /* this thread busy: the worker's answers wait */ }
    expect(await Promise.all(held)).toEqual(Array(10).fill(5_000_000))
    expect(r.poolStats()).toMatchObject({ workers: 1, busy: 0, queued: 0 })
    // two calls that never end: the second waits, and gets a worker of its own after growAfterMs
    const log: Settled[] = []
    const queuedAt = performance.now()
    const a = spin(r, 'A', 2, log)
    await waitUntil(() => r.poolStats().busy === 2, 20_000, 'a second worker for the call left waiting')
    expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(growAfterMs)
    expect(r.poolStats()).toMatchObject({ workers: 2, extra: 0, queued: 0 })
    a.controller.abort()
    await Promise.all(a.calls)
    expect(log.map(l => l.code)).toEqual(['RUNTIME_CANCELLED', 'RUNTIME_CANCELLED'])
  }, 60_000)

  it('once no call has run for quietMs, keeps one worker and lets the others go, and says so once a quiet spell', async () => {
    let quiet = 0
    // growAfterMs 0: the second call gets a worker of its own as soon as the first is ready
    const r = new WasmRunner({ workers: 2, workerIdleMs: 600_000, quietMs: 200, growAfterMs: 0 }, { logger: silentLogger(), quiet: () => { quiet++ } })
    runners.push(r)
    await r.start()
    const burn = async (): Promise<unknown> => (await r.run({ key: KEY, wasm: core, func: 'burn', args: [300_000_000], timeoutMs: 600_000 })).output
    // calls waiting while the first worker is busy: a second worker starts and takes one. One
    // more is queued whenever none waits, so that the second worker finds one however long it
    // takes to start on a loaded machine
    const calls = [burn(), burn()]
    await waitUntil(() => {
      const { busy, queued } = r.poolStats()
      if (busy === 1 && queued === 0) calls.push(burn())
      return busy === 2
    }, 30_000, 'both workers busy')
    expect(await Promise.all(calls)).toEqual(calls.map(() => 300_000_000))
    expect(r.poolStats().workers).toBe(2)
    await waitUntil(() => r.poolStats().workers === 1, 20_000, 'one worker left once quiet')
    expect(quiet).toBe(1)
    // the one kept runs the next call at once; nothing is said while the node stays quiet
    await new Promise(resolve => setTimeout(resolve, 400))
    expect(quiet).toBe(1)
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [1] })).output).toBe(2)
    expect(r.poolStats().workers).toBe(1)
    await waitUntil(() => quiet === 2, 20_000, 'quiet again after the next call')
    expect(r.poolStats().workers).toBe(1)
  }, 60_000)

  it('two groups whose calls never end cannot keep a third group\'s call from running', async () => {
    const r = await runner(2)
    const log: Settled[] = []
    // every worker is taken by a call that never ends, with more of them queued behind
    const a = spin(r, 'A', 3, log)
    await waitUntil(() => r.poolStats().busy === 2, 10_000, 'both workers busy')
    const b = spin(r, 'B', 3, log)
    // B gets a worker of its own, though A holds both and queued first
    await waitUntil(() => r.poolStats().busy === 3, 10_000, 'an extra worker for B')
    expect(r.poolStats()).toMatchObject({ workers: 3, extra: 1, groups: { A: 2, B: 1 } })
    const c = r.run({ key: KEY, wasm: core, func: 'add_one', args: [41], group: 'C' }).then(res => {
      log.push({ name: 'C', ok: true })
      return res
    })
    expect((await c).output).toBe(42)
    // C finished while every endless call was still running
    expect(log).toEqual([{ name: 'C', ok: true }])
    a.controller.abort()
    b.controller.abort()
    await Promise.all([...a.calls, ...b.calls])
    expect(log.filter(s => s.code === RuntimeErrorCode.CANCELLED)).toHaveLength(6)
    // the extra workers go once idle
    await waitUntil(() => r.poolStats().extra === 0, 10_000, 'extra workers gone')
    expect(r.poolStats()).toMatchObject({ busy: 0, queued: 0 })
    expect(r.poolStats().workers).toBeLessThanOrEqual(2)
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [1], group: 'D' })).output).toBe(2)
  }, 60_000)

  it('serves the queue a group at a time in turn', async () => {
    // no relief here: only the order in which the queue is served
    const r = await runner(3, 600_000)
    const log: Settled[] = []
    const x = spin(r, 'X', 3, log)
    await waitUntil(() => r.poolStats().busy === 3, 10_000, 'three workers busy')
    // A queues three calls, then B one, while every worker is busy
    const a = spin(r, 'A', 3, log)
    const b = spin(r, 'B', 1, log)
    await waitUntil(() => r.poolStats().queued === 4, 10_000, 'four calls queued')
    // the three workers come free: A, B, A take them
    x.controller.abort()
    await Promise.all(x.calls)
    await waitUntil(() => r.poolStats().busy === 3, 10_000, 'three workers busy again')
    // in arrival order A would have taken all three
    expect(r.poolStats()).toMatchObject({ queued: 1, extra: 0, groups: { A: 2, B: 1 } })
    b.controller.abort()
    await Promise.all(b.calls)
    // B's worker went to the call A had waiting
    await waitUntil(() => r.poolStats().busy === 3 && r.poolStats().queued === 0, 10_000, 'A takes the freed worker')
    expect(r.poolStats().groups).toEqual({ A: 3 })
    a.controller.abort()
    await Promise.all(a.calls)
    expect(log.map(s => s.code)).toEqual(Array(7).fill(RuntimeErrorCode.CANCELLED))
  }, 60_000)

  it('with a single worker, a call that never ends still cannot keep another group waiting', async () => {
    const r = await runner(1)
    const log: Settled[] = []
    const a = spin(r, 'A', 2, log)
    await waitUntil(() => r.poolStats().busy === 1, 10_000, 'the worker busy')
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [1], group: 'C' })).output).toBe(2)
    expect(log).toEqual([])
    a.controller.abort()
    await Promise.all(a.calls)
    await rejectsWith(r.run({ key: KEY, wasm: core, func: 'spin', args: [], timeoutMs: 50, group: 'A' }), RuntimeErrorCode.TIMEOUT)
  }, 60_000)

  it('when no extra worker may start, a group holding several gives one back: its newest call starts over later', async () => {
    const r = await runner(2, 100, 0)
    const log: Settled[] = []
    const a = spin(r, 'A', 2, log)
    await waitUntil(() => r.poolStats().groups.A === 2, 10_000, 'A holding both workers')
    expect((await r.run({ key: KEY, wasm: core, func: 'add_one', args: [1], group: 'C' })).output).toBe(2)
    // no extra worker was started; A's preempted call was queued again, not failed, and has its worker back
    expect(log).toEqual([])
    await waitUntil(() => r.poolStats().groups.A === 2, 10_000, 'A holding both workers again')
    expect(r.poolStats()).toMatchObject({ workers: 2, extra: 0, queued: 0 })
    a.controller.abort()
    await Promise.all(a.calls)
    expect(log.map(s => s.code)).toEqual([RuntimeErrorCode.CANCELLED, RuntimeErrorCode.CANCELLED])
  }, 60_000)
})
