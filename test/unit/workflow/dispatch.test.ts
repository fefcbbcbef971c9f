import { afterEach, describe, expect, it } from 'vitest'
import { isIpldMap, type Ipld } from '../../../src/ipld/index.js'
import type { DispatchedResult, DispatchHooks, ReadyTask, RunEvent, TaskDispatcher } from '../../../src/workflow/index.js'
import { awaitOk, chainOf, harness, runEvents, wasmTask, workflowOf, type Harness } from './harness.js'
import { waitUntil } from '../../utils/wait.js'

const PEER = '12D3KooWPeerThatRanIt'

/**
 * A dispatcher without a network: `remote` runs add_one "on a peer" (it computes the value),
 * `fault` loses the task on a peer once then runs it here, `hang` keeps it out until aborted.
 */
class FakeDispatcher implements TaskDispatcher {
  readonly calls: ReadyTask[] = []
  readonly pauses: AbortSignal[] = []
  mode: 'remote' | 'fault' | 'hang' = 'remote'

  async execute (task: ReadyTask, hooks: DispatchHooks): Promise<DispatchedResult> {
    this.calls.push(task)
    this.pauses.push(hooks.pauseSignal())
    if (this.mode === 'hang') {
      await new Promise((_resolve, reject) => task.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))
    }
    if (this.mode === 'fault') {
      hooks.onFault(PEER, new Error('the peer went away'))
      return { output: await hooks.runLocal(), vouchers: [], computedHere: true }
    }
    const run = task.task.ipld.run
    const input = isIpldMap(run) && isIpldMap(run.input) && Array.isArray(run.input.args) ? run.input.args[0] : null
    const value = task.awaited.length > 0 ? task.awaited[0].value : input
    return { output: (value as number) + 1, executor: PEER, vouchers: [PEER], computedHere: false }
  }
}

const open: Harness[] = []
afterEach(async () => { for (const h of open.splice(0)) await h.close() })

async function start (dispatcher: FakeDispatcher, placement: 'local' | 'spread' | 'remote-first' = 'local'): Promise<Harness> {
  const h = await harness({ placement }, undefined, undefined, { dispatcher })
  open.push(h)
  return h
}

const receipts = (events: RunEvent[]): Array<{ out: Ipld, executor?: string }> => events.flatMap(e => e.type === 'receipt' ? [{ out: e.receipt.out, ...(e.executor !== undefined ? { executor: e.executor } : {}) }] : [])

describe('tasks placed on peers', () => {
  it('with workflow.placement local, nothing goes to the dispatcher; a run asks otherwise with its own placement', async () => {
    const d = new FakeDispatcher()
    const h = await start(d)
    await runEvents(await h.engine.submit(workflowOf(chainOf(2, 1))))
    expect(d.calls).toHaveLength(0)
    expect(h.runner.count('add_one')).toBe(2)
    const events = await runEvents(await h.engine.submit(workflowOf(chainOf(2, 10)), { execution: { placement: 'spread', verify: 'sample:0.5' } }))
    expect(receipts(events)).toEqual([{ out: ['ok', 11], executor: PEER }, { out: ['ok', 12], executor: PEER }])
    expect(d.calls.map(c => [c.placement, c.verify])).toEqual([['spread', 'sample:0.5'], ['spread', 'sample:0.5']])
    // the second task was sent with the output of the first, which it awaits
    expect(d.calls[1].awaited).toEqual([{ instruction: d.calls[0].instruction, ok: true, value: 11 }])
  })

  it('a task\'s meta.placement, and the run\'s task_placement by instruction CID, place single tasks', async () => {
    const d = new FakeDispatcher()
    const h = await start(d, 'spread')
    const pinned = wasmTask('add_one', [100], '', { placement: 'local' })
    const free = wasmTask('add_one', [200])
    const chosen = wasmTask('add_one', [300], '', { placement: 'local' })
    const wf = workflowOf([pinned, free, chosen])
    const byOption = { [wf.tasks[2].run.cid.toString()]: 'remote-first' as const }
    const events = await runEvents(await h.engine.submit(wf, { execution: { tasks: byOption } }))
    expect(receipts(events).map(r => r.out)).toEqual(expect.arrayContaining([['ok', 101], ['ok', 201], ['ok', 301]]))
    expect(d.calls.map(c => [c.instruction.toString(), c.placement]).sort()).toEqual([
      [wf.tasks[1].run.cid.toString(), 'spread'], [wf.tasks[2].run.cid.toString(), 'remote-first']
    ].sort())
    expect(h.runner.calls.map(c => c.args)).toEqual([[100]])
  })

  it('a result from a peer is stored as that peer\'s, and replayed later with its executor', async () => {
    const d = new FakeDispatcher()
    const h = await start(d, 'remote-first')
    const wf = workflowOf([wasmTask('add_one', [7])])
    await runEvents(await h.engine.submit(wf))
    const stored = await h.store.receipts.getByInstruction(wf.tasks[0].run.cid)
    expect(stored?.provenance).toEqual({ local: false, vouchers: [{ peer: PEER, via: 'dispatch', signed: true }] })
    const again = await runEvents(await h.engine.submit(workflowOf([wasmTask('add_one', [7]), wasmTask('add_one', [8])])))
    const replay = again.find(e => e.type === 'receipt' && e.replayed)
    expect(replay).toMatchObject({ executor: PEER, receipt: { out: ['ok', 8] } })
  })

  it('a peer that loses a task costs an attempt (a retry of the run), and the task still completes once', async () => {
    const d = new FakeDispatcher()
    d.mode = 'fault'
    const h = await start(d, 'spread')
    const events = await runEvents(await h.engine.submit(workflowOf(chainOf(3, 1))))
    expect(receipts(events)).toEqual([{ out: ['ok', 2] }, { out: ['ok', 3] }, { out: ['ok', 4] }])
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'completed', retries: 3, tasks: { executed: 3 } })
  })

  it('pausing the run is heard by the dispatcher of a task in flight (to withdraw it from a peer that has not started it)', async () => {
    const d = new FakeDispatcher()
    d.mode = 'hang'
    const h = await start(d, 'remote-first')
    const run = await h.engine.submit(workflowOf([wasmTask('add_one', [1])]))
    await waitUntil(() => d.calls.length === 1, 5000, 'the task out')
    expect(d.pauses[0].aborted).toBe(false)
    await h.engine.pause(run.cid)
    expect(d.pauses[0].aborted).toBe(true)
    await h.engine.cancel(run.cid)
  })

  it('a node killed with a task out on a peer sends it again after the restart', async () => {
    const d = new FakeDispatcher()
    d.mode = 'hang'
    const h = await start(d, 'remote-first')
    const wf = workflowOf([...chainOf(1, 40), wasmTask('add_one', [awaitOk(chainOf(1, 40)[0])])])
    const run = await h.engine.submit(wf)
    await waitUntil(() => d.calls.length === 1, 5000, 'the first task out')
    d.mode = 'remote'
    const engine = await h.crash()
    const resumed = engine.activeRun(run.cid)!
    const events = await runEvents(resumed)
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'completed', tasks: { executed: 2 } })
    expect(receipts(events).map(r => r.out)).toEqual([['ok', 41], ['ok', 42]])
    // the first task went out twice: before the crash and after it
    expect(d.calls.filter(c => c.instruction.equals(wf.tasks[0].run.cid))).toHaveLength(2)
  })
})
