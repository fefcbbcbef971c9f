import { describe, expect, it } from 'vitest'
import { buildDag } from '../../../src/workflow/dag.js'

describe('task graph', () => {
  it('orders tasks after what they await, keeping workflow order among independent ones (Homestar build_mixed_graph)', () => {
    // t6 awaits t1; t2 awaits t1; t3 awaits t2 and t1; t4 and t5 are isolated
    const dag = buildDag([
      { id: 't1', awaits: [] },
      { id: 't2', awaits: ['t1'] },
      { id: 't3', awaits: ['t2', 't1'] },
      { id: 't4', awaits: [] },
      { id: 't5', awaits: [] },
      { id: 't6', awaits: ['t1'] }
    ])
    expect(dag.order).toEqual([0, 1, 2, 3, 4, 5])
    expect(dag.nodes[2].deps.sort()).toEqual([0, 1])
    expect(dag.nodes[0].dependents.sort()).toEqual([1, 2, 5])
    expect(dag.external).toEqual([])
  })

  it('a task listed before the task it awaits still runs after it', () => {
    const dag = buildDag([{ id: 'b', awaits: ['a'] }, { id: 'a', awaits: [] }])
    expect(dag.order).toEqual([1, 0])
  })

  it('awaits outside the workflow are listed, not edges', () => {
    const dag = buildDag([{ id: 'a', awaits: ['elsewhere'] }, { id: 'b', awaits: ['a', 'elsewhere'] }])
    expect(dag.external).toEqual(['elsewhere'])
    expect(dag.nodes[1].deps).toEqual([0])
    expect(dag.nodes[1].external).toEqual(['elsewhere'])
  })

  it('duplicate tasks are refused with a message that says to add a nonce', () => {
    let err: any
    try { buildDag([{ id: 'a', awaits: [] }, { id: 'a', awaits: [] }]) } catch (e) { err = e }
    expect(err.code).toBe('WORKFLOW_INVALID_DUPLICATE_TASK')
    expect(err.message).toContain('nonce')
    expect(err.data.tasks).toEqual([0, 1])
  })

  it('tasks that await each other are refused', () => {
    let err: any
    try { buildDag([{ id: 'a', awaits: ['b'] }, { id: 'b', awaits: ['a'] }, { id: 'c', awaits: [] }]) } catch (e) { err = e }
    expect(err.code).toBe('WORKFLOW_INVALID')
    expect(err.data.tasks).toEqual([0, 1])
  })
})
