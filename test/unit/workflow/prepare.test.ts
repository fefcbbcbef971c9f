import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { prepareTasks } from '../../../src/workflow/prepare.js'
import { awaitOk, sleepTask, wasmTask, workflowOf } from './harness.js'

const OPTS = { defaultTimeoutMs: 1000, maxTimeoutMs: 5000, defaultMemoryBytes: 1 << 20 }

describe('prepared tasks', () => {
  it('read a task\'s meta.placement hint when it names a placement, and ignore it otherwise', () => {
    const workflow = workflowOf([wasmTask('add_one', [1], '', { placement: 'remote-first' }), wasmTask('add_one', [2], '', { placement: 'elsewhere' }), wasmTask('add_one', [3])])
    expect(prepareTasks(workflow, OPTS).map(p => p.placement)).toEqual(['remote-first', undefined, undefined])
  })

  it('give each task the instruction and invocation CIDs of the workflow it came from', () => {
    const first = wasmTask('add_one', [1])
    const workflow = workflowOf([first, wasmTask('add_one', [awaitOk(first)]), sleepTask({ duration_ms: 5 })])
    const tasks = prepareTasks(workflow, OPTS)
    expect(tasks.map(p => p.instruction.toString())).toEqual(workflow.tasks.map(t => t.run.cid.toString()))
    expect(tasks.map(p => p.ran.toString())).toEqual(workflow.tasks.map(t => t.ran.toString()))
    expect(tasks.map(p => p.instructionString)).toEqual(workflow.tasks.map(t => t.run.cid.toString()))
    expect(tasks.map(p => p.ipld)).toEqual(workflow.tasks.map(t => t.ipld))
    expect(tasks.map(p => [p.op, p.func, p.timeoutMs])).toEqual([['wasm/run', 'add_one', 1000], ['wasm/run', 'add_one', 1000], ['ipvm/sleep', 'ipvm/sleep', 1000]])
  })

  it('keep no CID object, no IPLD and no task of the workflow: the CIDs and the IPLD are built when read, each on its own bytes', () => {
    const workflow = workflowOf([wasmTask('add_one', [1]), wasmTask('add_one', [2], '', { time: 7, memory: 65536 })])
    const [p, q] = prepareTasks(workflow, OPTS)
    for (const value of Object.values(p)) {
      expect(value).not.toBeInstanceOf(CID)
      expect(workflow.tasks).not.toContain(value)
      expect(workflow.tasks.map(t => t.ipld)).not.toContain(value)
    }
    // the IPLD read back from the task's DAG-CBOR: a fresh copy each time, equal to the workflow's
    expect(q.ipld).not.toBe(q.ipld)
    expect(q.ipld).toEqual(workflow.tasks[1].ipld)
    expect(q.ipld.meta).toEqual({ time: 7, memory: 65536 })
    const a = p.instruction
    const b = p.instruction
    expect(a).not.toBe(b)
    expect(a.equals(b)).toBe(true)
    // a copy, not a view into the buffer all the run's CIDs share
    expect(a.bytes.buffer.byteLength).toBe(a.bytes.length)
    expect(p.ran.bytes.buffer.byteLength).toBe(p.ran.bytes.length)
  })
})
