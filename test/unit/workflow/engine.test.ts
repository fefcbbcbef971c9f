import { afterEach, describe, expect, it } from 'vitest'
import { MAX_RUN_NAME_BYTES, type RunEvent} from '../../../src/workflow/index.js'
import { cutRunName } from '../../../src/workflow/run-name.js'
import type { CID } from 'multiformats/cid'
import { encodeReceipt, receiptCid } from '../../../src/ipld/index.js'
import { awaitOk, captureLogs, chainOf, harness, runEvents, sleepTask, wasmTask, workflowOf, type Harness } from './harness.js'
import { waitUntil } from '../../utils/wait.js'

const open: Harness[] = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})

async function start (...args: Parameters<typeof harness>): Promise<Harness> {
  const h = await harness(...args)
  open.push(h)
  return h
}

function outputs (events: RunEvent[]): unknown[] {
  return events.flatMap(e => e.type === 'receipt' ? [e.receipt.out] : [])
}

function finalStatus (events: RunEvent[]): Extract<RunEvent, { type: 'status' }> {
  const last = events.at(-1)
  if (last?.type !== 'status' || !last.final) throw new Error('the run did not end with a final status')
  return last
}

describe('workflow engine, in memory', () => {
  it('runs a chain in dependency order, stores every receipt and the final status', async () => {
    const h = await start()
    const run = await h.engine.submit(workflowOf(chainOf(3, 1)), { name: 'chain' })
    const events = await runEvents(run)
    expect(outputs(events)).toEqual([['ok', 2], ['ok', 3], ['ok', 4]])
    expect(finalStatus(events)).toMatchObject({ status: 'completed', tasks: { total: 3, executed: 3, replayed: 0, failed: 0, skipped: 0 } })
    expect(h.runner.calls.map(c => c.args)).toEqual([[1], [2], [3]])
    const stored = await h.engine.status(run.cid)
    expect(stored).toMatchObject({ status: 'completed', progress: 3, numTasks: 3, name: 'chain' })
    expect((await h.engine.receipts(run.cid)).map(r => r.receipt.out)).toEqual([['ok', 2], ['ok', 3], ['ok', 4]])
  })

  it('retries a retryable failure with growing backoff, then succeeds', async () => {
    const { lines, logger } = captureLogs()
    const h = await start({ retries: 3, retryInitialDelayMs: 10, retryMaxDelayMs: 1000 }, logger)
    h.runner.flakyFailures = 3
    const run = await h.engine.submit(workflowOf([wasmTask('flaky', [])]))
    const events = await runEvents(run)
    expect(outputs(events)).toEqual([['ok', 'steady']])
    expect(finalStatus(events)).toMatchObject({ status: 'completed', retries: 3 })
    expect(h.runner.count('flaky')).toBe(4)
    // full jitter in the upper half of a doubling delay: 10, 20, 40 ms nominal
    const delays = lines.filter(l => l.msg === 'retrying task').map(l => l.delayMs as number)
    expect(delays).toHaveLength(3)
    expect(delays[0]).toBeGreaterThanOrEqual(5)
    expect(delays[0]).toBeLessThanOrEqual(10)
    expect(delays[1]).toBeGreaterThanOrEqual(10)
    expect(delays[1]).toBeLessThanOrEqual(20)
    expect(delays[2]).toBeGreaterThanOrEqual(20)
    expect(delays[2]).toBeLessThanOrEqual(40)
    expect((await h.engine.status(run.cid)).retries).toBe(3)
  })

  it('gives up after its retries: an error receipt, dependents skipped, the run failed', async () => {
    const h = await start({ retries: 2 })
    h.runner.flakyFailures = 10
    const first = wasmTask('flaky', [])
    const run = await h.engine.submit(workflowOf([first, wasmTask('add_one', [awaitOk(first)])]))
    const events = await runEvents(run)
    expect(outputs(events)).toEqual([['error', { code: 'TEST_TIMEOUT', message: 'too slow this time', attempts: 3 }]])
    expect(finalStatus(events)).toMatchObject({ status: 'failed', retries: 2, tasks: { failed: 1, skipped: 1, executed: 0 }, error: { code: 'TEST_TIMEOUT' } })
    expect(h.runner.count('add_one')).toBe(0)
  })

  it('does not retry an error that cannot succeed on another attempt', async () => {
    const h = await start({ retries: 3 })
    const run = await h.engine.submit(workflowOf([wasmTask('fail', [])]))
    const events = await runEvents(run)
    expect(outputs(events)).toEqual([['error', { code: 'TEST_BAD_ARGUMENT', message: 'it cannot work', attempts: 1 }]])
    expect(h.runner.count('fail')).toBe(1)
    expect(finalStatus(events).retries).toBe(0)
  })

  it('replays a finished workflow from its receipts without running a task', async () => {
    const h = await start()
    const wf = workflowOf(chainOf(3, 10))
    const first = await runEvents(await h.engine.submit(wf))
    const calls = h.runner.calls.length
    const again = await runEvents(await h.engine.submit(wf, { name: 'again' }))
    expect(h.runner.calls.length).toBe(calls)
    expect(again.filter(e => e.type === 'receipt').map(e => e.type === 'receipt' && e.replayed)).toEqual([true, true, true])
    expect(outputs(again)).toEqual(outputs(first))
    expect(finalStatus(again)).toMatchObject({ status: 'completed', tasks: { replayed: 3, executed: 0 } })
  })

  it('asks peers about a new workflow\'s roots alone, and about the rest only when they had one of those', async () => {
    // what peers hold: the receipts of a chain another node ran
    const other = await start()
    const wf = workflowOf(chainOf(3, 40))
    await runEvents(await other.engine.submit(wf))
    const held = new Map<string, { cid: CID, bytes: Uint8Array }>()
    for (const task of wf.tasks) {
      const r = await other.store.receipts.getByInstruction(task.run.cid)
      if (r !== undefined) held.set(task.run.cid.toString(), { cid: r.cid, bytes: r.bytes })
    }
    expect(held.size).toBe(3)
    const asked: string[][] = []
    let peersHold = false
    const h = await start({}, undefined, undefined, {
      peers: {
        findMany: async (instructions) => {
          asked.push(instructions.map(i => i.toString()))
          return await Promise.all(instructions.map(async i => {
            const r = peersHold ? held.get(i.toString()) : undefined
            if (r === undefined) return false
            await h.store.receipts.put({ cid: r.cid, instruction: i, bytes: r.bytes, source: { kind: 'peer', vouchers: [{ peer: 'p', via: 'exchange', signed: false }] } })
            return true
          }))
        },
        publish: () => {},
        replayed: () => {}
      }
    })
    const [root, second, third] = [...held.keys()]
    // a chain nobody ran: peers are asked about its first task only, and it runs
    const fresh = workflowOf(chainOf(3, 50))
    const runFresh = await runEvents(await h.engine.submit(fresh))
    expect(finalStatus(runFresh)).toMatchObject({ status: 'completed', tasks: { executed: 3 } })
    expect(asked.map(a => a.length)).toEqual([1])
    // a chain peers ran: the root, then the rest; nothing runs
    asked.length = 0
    peersHold = true
    const replay = await runEvents(await h.engine.submit(wf))
    expect(asked).toEqual([[root], [second, third]])
    expect(finalStatus(replay)).toMatchObject({ status: 'completed', tasks: { replayed: 3, executed: 0 } })
  })

  it('pause holds back the next task until resume; the stored status follows', async () => {
    const h = await start()
    const gate = wasmTask('block', [5])
    const run = await h.engine.submit(workflowOf([gate, wasmTask('add_one', [awaitOk(gate)])]))
    const done = runEvents(run)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    await h.engine.pause(run.cid)
    expect((await h.engine.status(run.cid)).status).toBe('paused')
    h.runner.release()
    // the blocked task finishes, but its dependent does not start while the run is paused
    await waitUntil(() => run.taskState(0) === 'ok', 5000)
    await run.settled()
    expect(h.runner.count('add_one')).toBe(0)
    expect(run.status).toBe('paused')
    await h.engine.resume(run.cid)
    const events = await done
    expect(outputs(events)).toEqual([['ok', 5], ['ok', 6]])
    const statuses = events.flatMap(e => e.type === 'status' ? [e.status] : [])
    expect(statuses).toEqual(['paused', 'running', 'completed'])
  })

  it('refuses to pause a finished run, and to resume a run that is not paused', async () => {
    const h = await start()
    const run = await h.engine.submit(workflowOf([wasmTask('add_one', [1])]))
    await run.done()
    await expect(h.engine.pause(run.cid)).rejects.toMatchObject({ code: 'WORKFLOW_STATE' })
    await expect(h.engine.resume(run.cid)).rejects.toMatchObject({ code: 'WORKFLOW_STATE' })
  })

  it('cancel aborts the task in flight and ends the run cancelled, for good', async () => {
    const h = await start()
    const gate = wasmTask('block', [1])
    const run = await h.engine.submit(workflowOf([gate, wasmTask('add_one', [awaitOk(gate)])]))
    const done = runEvents(run)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    const info = await h.engine.cancel(run.cid)
    expect(info.status).toBe('cancelled')
    expect(h.runner.calls[0].signal.aborted).toBe(true)
    const events = await done
    expect(finalStatus(events)).toMatchObject({ status: 'cancelled', error: { code: 'WORKFLOW_CANCELLED' } })
    expect(h.runner.count('add_one')).toBe(0)
    // a cancelled run stays cancelled across a restart
    const engine = await h.restart()
    expect((await engine.status(run.cid)).status).toBe('cancelled')
    await expect(engine.cancel(run.cid)).rejects.toMatchObject({ code: 'WORKFLOW_STATE' })
  })

  it('starts at most 256 Wasm tasks of a run at once; the others start as those end, and a cancel ends them unstarted', async () => {
    const h = await start({ concurrency: 1000 })
    const fan = Array.from({ length: 300 }, (_, i) => wasmTask('block', [i]))
    const run = await h.engine.submit(workflowOf(fan))
    const done = runEvents(run)
    await waitUntil(() => h.runner.blocked === 256, 5000)
    // more turns of the event loop start nothing more while the 256 are in progress
    for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
    expect(h.runner.calls.length).toBe(256)
    h.runner.release()
    await waitUntil(() => h.runner.blocked === 44, 5000)
    expect(h.runner.calls.length).toBe(300)
    h.runner.release()
    const events = await done
    expect(finalStatus(events)).toMatchObject({ status: 'completed', tasks: { executed: 300 } })
    expect(new Set(h.runner.calls.map(c => c.args[0])).size).toBe(300)

    const cancelled = await h.engine.submit(workflowOf(Array.from({ length: 300 }, (_, i) => wasmTask('block', [i + 1000]))))
    const ended = runEvents(cancelled)
    await waitUntil(() => h.runner.blocked === 256, 5000)
    await h.engine.cancel(cancelled.cid)
    expect(finalStatus(await ended)).toMatchObject({ status: 'cancelled' })
    expect(h.runner.calls.length).toBe(300 + 256)
  })

  it('a durable sleep passes its value on; the run is sleeping meanwhile', async () => {
    const h = await start()
    const nap = sleepTask({ duration_ms: 20, value: 41 })
    const run = await h.engine.submit(workflowOf([nap, wasmTask('add_one', [awaitOk(nap)])]))
    const events = await runEvents(run)
    expect(outputs(events)).toEqual([['ok', 41], ['ok', 42]])
    expect(events.flatMap(e => e.type === 'status' ? [e.status] : [])).toEqual(['sleeping', 'running', 'completed'])
  })

  it('is busy while a run runs, and not once it ends or while it only sleeps', async () => {
    const h = await start()
    expect(h.engine.busy).toBe(false)
    const run = await h.engine.submit(workflowOf([wasmTask('block', [1])]))
    expect(h.engine.busy).toBe(true)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    expect(h.engine.busy).toBe(true)
    h.runner.release()
    await runEvents(run)
    expect(h.engine.busy).toBe(false)
    const nap = await h.engine.submit(workflowOf([sleepTask({ duration_ms: 3_600_000 })]))
    await waitUntil(async () => (await h.engine.status(nap.cid)).status === 'sleeping', 5000)
    expect(h.engine.busy).toBe(false)
    await h.engine.cancel(nap.cid)
  })

  it('a sleep stores its wake time before it waits', async () => {
    const h = await start()
    const before = Date.now()
    const run = await h.engine.submit(workflowOf([sleepTask({ duration_ms: 3_600_000 })]))
    const sleeping = await waitUntil(async () => {
      const info = await h.engine.status(run.cid)
      return info.status === 'sleeping' ? info : undefined
    }, 5000)
    expect(sleeping.wakeAt).toBeGreaterThanOrEqual(before + 3_600_000)
    expect(Object.values(sleeping.sleeps ?? {})).toEqual([sleeping.wakeAt])
    await h.engine.cancel(run.cid)
  })

  it('a sleep interrupted by a restart wakes at its stored time, not a full duration later', async () => {
    const h = await start()
    const nap = sleepTask({ duration_ms: 3_600_000 })
    const run = await h.engine.submit(workflowOf([nap, wasmTask('add_one', [7])]))
    await waitUntil(async () => (await h.engine.status(run.cid)).sleeps !== undefined, 5000)
    await h.engine.stop()
    // as if the hour had almost passed while the node was down
    const instruction = run.dag.nodes[0].id
    await h.store.workflows.update(run.cid, { sleeps: { [instruction]: Date.now() + 10 }, wakeAt: Date.now() + 10 })
    const engine = await h.restart()
    const resumed = engine.activeRun(run.cid)!
    const events = await runEvents(resumed)
    expect(finalStatus(events)).toMatchObject({ status: 'completed' })
    // a graceful stop is no crash
    expect(resumed.restarts).toBe(0)
  })

  it('graceful restarts never count against max_restarts; crashes do, and only they', async () => {
    const h = await start({ maxRestarts: 1 })
    const run = await h.engine.submit(workflowOf([sleepTask({ duration_ms: 3_600_000 })]))
    await waitUntil(async () => (await h.engine.status(run.cid)).sleeps !== undefined, 5000)
    for (let i = 0; i < 5; i++) {
      await h.engine.stop()
      // the stop wrote the mark with the run's status
      expect(await h.store.workflows.get(run.cid)).toMatchObject({ status: 'sleeping', stoppedCleanly: true, restarts: 0 })
      const engine = await h.restart()
      expect(engine.activeRun(run.cid)).toBeDefined()
      // the mark is used up once the run is resumed
      expect(await h.store.workflows.get(run.cid)).toMatchObject({ status: 'sleeping', restarts: 0 })
      expect((await h.store.workflows.get(run.cid))?.stoppedCleanly).toBeUndefined()
    }
    // a crash counts one: the run is resumed once more
    let engine = await h.crash()
    expect(await engine.status(run.cid)).toMatchObject({ status: 'sleeping', restarts: 1 })
    // a graceful restart in between does not reset or add to the count
    engine = await h.restart()
    expect(await engine.status(run.cid)).toMatchObject({ status: 'sleeping', restarts: 1 })
    // the second crash is one more than max_restarts allows
    engine = await h.crash()
    expect(await engine.status(run.cid)).toMatchObject({ status: 'failed', restarts: 1, error: { code: 'WORKFLOW_RESTARTS_EXCEEDED' } })
    expect(engine.activeRun(run.cid)).toBeUndefined()
  })

  it('resumes an interrupted run after a restart without running its finished tasks again', async () => {
    const h = await start()
    const tasks = chainOf(2, 1)
    const gate = wasmTask('block', [awaitOk(tasks[1])])
    const wf = workflowOf([...tasks, gate])
    const run = await h.engine.submit(wf)
    const firstEvents: RunEvent[] = []
    run.attach(e => firstEvents.push(e))
    await waitUntil(() => h.runner.blocked === 1, 5000)
    await h.engine.stop()
    // stopping the node is no verdict on the run: no final status, stored as running
    expect(firstEvents.some(e => e.type === 'status' && e.final)).toBe(false)
    expect((await h.store.workflows.get(run.cid))?.status).toBe('running')
    const before = h.runner.count('add_one')
    const engine = await h.restart()
    const resumed = engine.activeRun(run.cid)!
    const done = runEvents(resumed)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    h.runner.release()
    const events = await done
    expect(h.runner.count('add_one')).toBe(before)
    expect(finalStatus(events)).toMatchObject({ status: 'completed', tasks: { replayed: 2, executed: 1 } })
    expect((await engine.status(run.cid)).restarts).toBe(0)
  })

  it('marks a run failed once crashes interrupted it more often than max_restarts', async () => {
    const h = await start({ maxRestarts: 1 })
    const run = await h.engine.submit(workflowOf([wasmTask('block', [1])]))
    await waitUntil(() => h.runner.blocked === 1, 5000)
    await h.crash()
    await waitUntil(() => h.runner.count('block') === 2 && h.runner.blocked === 1, 5000)
    const engine = await h.crash()
    const info = await engine.status(run.cid)
    expect(info).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_RESTARTS_EXCEEDED' } })
  })

  it('a second submit of a run in progress attaches to it and sees its history', async () => {
    const h = await start()
    const gate = wasmTask('block', [3])
    const wf = workflowOf([wasmTask('add_one', [1]), gate])
    const run = await h.engine.submit(wf)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    const same = await h.engine.submit(wf, { name: 'other' })
    expect(same).toBe(run)
    const late = runEvents(same)
    h.runner.release()
    expect(outputs(await late)).toEqual([['ok', 2], ['ok', 3]])
  })

  it('a receipt that arrives from a peer while the run goes on answers a task that has not started', async () => {
    const h = await start()
    const gate = wasmTask('block', [1])
    const next = wasmTask('add_one', [awaitOk(gate)])
    const wf = workflowOf([gate, next])
    const run = await h.engine.submit(wf)
    const done = runEvents(run)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    // what a trusted peer's gossip leaves in the store meanwhile
    const task = wf.tasks[1]
    const theirs = { ran: task.ran, out: ['ok', 2] as ['ok', number], meta: { op: 'add_one' }, iss: null, prf: [] }
    await h.store.receipts.put({ cid: receiptCid(theirs), instruction: task.run.cid, bytes: encodeReceipt(theirs), source: { kind: 'peer', vouchers: [{ peer: 'p', via: 'pubsub', signed: false }] } })
    h.runner.release()
    const events = await done
    expect(h.runner.count('add_one')).toBe(0)
    expect(events.filter(e => e.type === 'receipt').map(e => e.type === 'receipt' && [e.replayed, e.receipt.out])).toEqual([[false, ['ok', 1]], [true, ['ok', 2]]])
    expect(finalStatus(events)).toMatchObject({ status: 'completed', tasks: { executed: 1, replayed: 1 } })
  })

  it('a peer\'s receipt made for another task with the same instruction is not reused', async () => {
    const h = await start()
    const wf = workflowOf([wasmTask('add_one', [4])])
    const task = wf.tasks[0]
    const other = workflowOf([wasmTask('add_one', [5])]).tasks[0]
    const wrong = { ran: other.ran, out: ['ok', 99] as ['ok', number], meta: { op: 'add_one' }, iss: null, prf: [] }
    await h.store.receipts.put({ cid: receiptCid(wrong), instruction: task.run.cid, bytes: encodeReceipt(wrong), source: { kind: 'peer', vouchers: [{ peer: 'p', via: 'pubsub', signed: false }] } })
    const events = await runEvents(await h.engine.submit(wf))
    expect(outputs(events)).toEqual([['ok', 5]])
    expect(h.runner.count('add_one')).toBe(1)
  })

  it('refuses a run name over MAX_RUN_NAME_BYTES before anything is stored, and takes one of exactly that many bytes', async () => {
    const h = await start()
    // 'é' is two bytes in UTF-8
    const longest = 'é'.repeat(MAX_RUN_NAME_BYTES / 2)
    const wf = workflowOf([wasmTask('add_one', [1])])
    await expect(h.engine.submit(wf, { name: `${longest}x` })).rejects.toMatchObject({ code: 'WORKFLOW_NAME_TOO_LONG', data: { limit: MAX_RUN_NAME_BYTES, bytes: MAX_RUN_NAME_BYTES + 1 } })
    await expect(h.engine.submit(wf, { name: 'x'.repeat(4 * 1024 * 1024) })).rejects.toMatchObject({ code: 'WORKFLOW_NAME_TOO_LONG' })
    await expect(h.engine.status(wf.cid)).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' })
    const run = await h.engine.submit(wf, { name: longest })
    expect(finalStatus(await runEvents(run))).toMatchObject({ status: 'completed' })
    expect((await h.engine.status(wf.cid)).name).toBe(longest)
  })

  it('resumes a run whose stored name is over the limit (an older version wrote it) with its name cut, and lists it cut', async () => {
    const h = await start()
    const wf = workflowOf(chainOf(2, 1))
    const huge = `${'€'.repeat(700)}${'x'.repeat(2 * 1024 * 1024)}`
    await h.store.workflows.put({ cid: wf.cid, name: huge, numTasks: 2, status: 'running' }, { body: wf.bytes })
    const engine = await h.crash()
    const run = engine.activeRun(wf.cid)!
    expect(run).toBeDefined()
    // '€' is three bytes: 341 of them fit in 1024 bytes, the 342nd would not
    expect(run.name).toBe('€'.repeat(341))
    expect(finalStatus(await runEvents(run))).toMatchObject({ status: 'completed' })
    expect((await h.store.workflows.get(wf.cid))?.name).toBe(run.name)
    // a finished run stored with a long name is reported cut
    const other = workflowOf([wasmTask('add_one', [5])])
    await h.store.workflows.put({ cid: other.cid, name: huge, numTasks: 1, status: 'completed' })
    const { runs } = await engine.list()
    expect(runs.map(r => Buffer.byteLength(r.name)).every(n => n <= MAX_RUN_NAME_BYTES)).toBe(true)
    expect((await engine.status(other.cid)).name).toBe(run.name)
  })

  it('cuts names at a character boundary', () => {
    expect(cutRunName('short')).toBe('short')
    expect(cutRunName('a'.repeat(MAX_RUN_NAME_BYTES + 5))).toBe('a'.repeat(MAX_RUN_NAME_BYTES))
    expect(cutRunName(`a${'😀'.repeat(400)}`)).toBe(`a${'😀'.repeat(255)}`)
    expect(cutRunName(`${'a'.repeat(MAX_RUN_NAME_BYTES - 1)}\ud83d`)).toBe('a'.repeat(MAX_RUN_NAME_BYTES - 1))
  })

  it('lowers a task timeout above max_timeout_ms to it, and logs that at debug', async () => {
    const { lines, logger } = captureLogs()
    const h = await start({ maxTimeoutMs: 60_000, defaultTimeoutMs: 100_000 }, logger)
    const run = await h.engine.submit(workflowOf([
      wasmTask('add_one', [1], '', { time: 1e12 }),
      wasmTask('add_one', [2], '', { time: 5000 }),
      wasmTask('add_one', [3])
    ]))
    expect(finalStatus(await runEvents(run))).toMatchObject({ status: 'completed' })
    expect(new Map(h.runner.calls.map(c => [c.args[0], c.timeoutMs]))).toEqual(new Map([[1, 60_000], [2, 5000], [3, 60_000]]))
    expect(lines.find(l => l.msg === 'tasks asked for a timeout above workflow.max_timeout_ms: they get the ceiling')).toMatchObject({ tasks: 1, max_timeout_ms: 60_000, level: 20 })
  })

  it('shares workflow.concurrency between runs: a run whose tasks never end cannot keep another run from starting its tasks', async () => {
    const h = await start({ concurrency: 2 })
    // three tasks that block until released: two take both places, the third waits
    const hog = await h.engine.submit(workflowOf([wasmTask('block', [1]), wasmTask('block', [2]), wasmTask('block', [3])]))
    await waitUntil(() => h.runner.blocked === 2, 5000)
    const other = await h.engine.submit(workflowOf([wasmTask('add_one', [41])]))
    const events = await runEvents(other)
    expect(outputs(events)).toEqual([['ok', 42]])
    // the hog's third task is still waiting for a place of its own run
    expect(h.runner.count('block')).toBe(2)
    expect(hog.isFinal).toBe(false)
    expect(h.runner.calls.map(c => c.group)).toEqual([hog.cidString, hog.cidString, other.cidString])
    h.runner.release()
    await waitUntil(() => h.runner.blocked === 1, 5000)
    h.runner.release()
    expect(finalStatus(await runEvents(hog))).toMatchObject({ status: 'completed' })
  })
})
