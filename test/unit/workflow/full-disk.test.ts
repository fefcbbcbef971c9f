import { afterEach, describe, expect, it } from 'vitest'
import type { RunEvent, RunState, StatusEvent } from '../../../src/workflow/index.js'
import { Bucket } from '../../../src/store/index.js'
import { faultyStore, type FaultyLevel } from '../../utils/faulty-level.js'
import { waitUntil } from '../../utils/wait.js'
import { awaitOk, harness, wasmTask, workflowOf, type Harness } from './harness.js'

/** The first byte of a run record's key. */
const RUN_RECORDS: number = Bucket.workflowRuns

const open: Harness[] = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})

async function start (mode: 'torn' | 'sticky' = 'torn'): Promise<{ h: Harness, db: FaultyLevel }> {
  const { store, db } = await faultyStore(mode)
  const h = await harness({}, undefined, store)
  open.push(h)
  return { h, db }
}

/** Every event of a run until it ends (a final status), or until the test gives up. */
function eventsOf (run: RunState): { events: RunEvent[], ended: Promise<void> } {
  const events: RunEvent[] = []
  run.attach(e => events.push(e))
  return { events, ended: run.done() }
}

const finals = (events: RunEvent[]): StatusEvent[] => events.filter((e): e is StatusEvent => e.type === 'status' && e.final)

describe('the workflow engine on a full disk', () => {
  it('a run in progress when the disk fills ends failed, visibly, with the store\'s code; the failure is stored once space returns', async () => {
    const { h, db } = await start()
    const gate = wasmTask('block', [1])
    const wf = workflowOf([wasmTask('add_one', [1]), gate, wasmTask('add_one', [awaitOk(gate)])])
    const run = await h.engine.submit(wf, { name: 'full' })
    const { events, ended } = eventsOf(run)
    await waitUntil(() => h.runner.blocked === 1 && h.runner.count('add_one') === 1, 5000)
    await waitUntil(() => events.some(e => e.type === 'receipt'), 5000)
    db.full = true
    h.runner.release()
    await ended
    // one receipt landed before; the gate's could not be stored, so its dependent was skipped
    expect(events.filter(e => e.type === 'receipt')).toHaveLength(1)
    const [final] = finals(events)
    expect(final).toMatchObject({ status: 'failed', final: true, tasks: { executed: 1, failed: 1, skipped: 1 }, error: { code: 'STORE_NO_SPACE' } })
    expect(final.error?.message).toMatch(/the run ended failed \(STORE_NO_SPACE\), but its final status could not be stored/)
    expect(h.runner.count('add_one')).toBe(1)
    // the store still says running, until it takes writes again; the node reports what it announced
    expect((await h.store.workflows.get(run.cid))?.status).toBe('running')
    expect(await h.engine.status(run.cid)).toMatchObject({ status: 'failed', error: { code: 'STORE_NO_SPACE' } })
    expect((await h.engine.list()).runs[0]).toMatchObject({ status: 'failed' })
    await expect(h.engine.cancel(run.cid)).rejects.toMatchObject({ code: 'WORKFLOW_STATE', data: { status: 'failed' } })
    await expect(h.engine.pause(run.cid)).rejects.toMatchObject({ code: 'WORKFLOW_STATE', data: { status: 'failed' } })
    db.full = false
    await waitUntil(async () => (await h.store.workflows.get(run.cid))?.status === 'failed', 5000)
    expect(await h.engine.status(run.cid)).toMatchObject({ status: 'failed', error: { code: 'STORE_NO_SPACE' } })
    // submitted again, it runs the task whose receipt was lost and completes
    const again = await h.engine.submit(wf)
    const second = eventsOf(again)
    await waitUntil(() => h.runner.blocked === 1, 5000)
    h.runner.release()
    await second.ended
    expect(finals(second.events)[0]).toMatchObject({ status: 'completed', tasks: { replayed: 1, executed: 2 } })
  })

  it('a cancel that cannot be stored is refused and the run goes on; once space returns the cancel is stored, answered, and survives a restart', async () => {
    const { h, db } = await start()
    const run = await h.engine.submit(workflowOf([wasmTask('block', [1])]))
    await waitUntil(() => h.runner.blocked === 1, 5000)
    db.full = true
    await expect(h.engine.cancel(run.cid)).rejects.toMatchObject({ code: 'STORE_NO_SPACE' })
    // nothing was stopped
    expect(h.runner.calls[0].signal.aborted).toBe(false)
    expect(run.isFinal).toBe(false)
    await expect(h.engine.pause(run.cid)).rejects.toMatchObject({ code: 'STORE_NO_SPACE' })
    expect(run.paused).toBe(false)
    expect(run.status).toBe('running')
    db.full = false
    await h.store.whenWritable()
    db.synced = []
    expect((await h.engine.cancel(run.cid)).status).toBe('cancelled')
    expect(db.synced.some(k => k[0] === RUN_RECORDS)).toBe(true)
    expect(h.runner.calls[0].signal.aborted).toBe(true)
    const engine = await h.restart()
    expect(engine.activeRun(run.cid)).toBeUndefined()
    expect(await engine.status(run.cid)).toMatchObject({ status: 'cancelled', error: { code: 'WORKFLOW_CANCELLED' } })
  })

  it('pause and resume are answered only once stored; a resume that cannot be stored leaves the run paused', async () => {
    const { h, db } = await start('sticky')
    const first = wasmTask('block', [1])
    const run = await h.engine.submit(workflowOf([first, wasmTask('add_one', [awaitOk(first)])]))
    await waitUntil(() => h.runner.blocked === 1, 5000)
    db.synced = []
    expect((await h.engine.pause(run.cid)).status).toBe('paused')
    // the pause was written with an fsync before it was answered: the run record is among the synced keys
    expect(db.synced.some(k => k[0] === RUN_RECORDS)).toBe(true)
    db.full = true
    await expect(h.engine.resume(run.cid)).rejects.toMatchObject({ code: 'STORE_NO_SPACE' })
    expect(run.paused).toBe(true)
    expect(run.status).toBe('paused')
    db.full = false
    await h.store.whenWritable()
    db.synced = []
    expect((await h.engine.resume(run.cid)).status).toBe('running')
    expect(db.synced.some(k => k[0] === RUN_RECORDS)).toBe(true)
    h.runner.release()
    const { events, ended } = eventsOf(run)
    await ended
    expect(finals(events)[0]).toMatchObject({ status: 'completed' })
  })

  it('a submit while writes fail is refused with the store\'s code, and nothing is left behind', async () => {
    const { h, db } = await start()
    db.full = true
    const wf = workflowOf([wasmTask('add_one', [1])])
    await expect(h.engine.submit(wf)).rejects.toMatchObject({ code: 'STORE_NO_SPACE' })
    expect(h.engine.activeRun(wf.cid)).toBeUndefined()
    expect(h.runner.calls).toHaveLength(0)
    db.full = false
    await h.store.whenWritable()
    const run = await h.engine.submit(wf)
    const { events, ended } = eventsOf(run)
    await ended
    expect(finals(events)[0]).toMatchObject({ status: 'completed' })
  })
})
