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

  it('among the tasks ready at each step, takes the one listed first (a random graph against a plain reference)', () => {
    // a small linear congruential generator: the same graph on every run
    let seed = 12345
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const n = 400
    // task k awaits up to three tasks made before it; the list is then shuffled
    const made = Array.from({ length: n }, (_, k) => ({ id: `t${k}`, awaits: k === 0 ? [] : Array.from({ length: random(4) }, () => `t${random(k)}`) }))
    const tasks = made.map(t => ({ t, key: random(1_000_000) })).sort((a, b) => a.key - b.key).map(x => x.t)
    const dag = buildDag(tasks)
    // reference: at each step the smallest index whose awaits are all done
    const indexOf = new Map(tasks.map((t, i) => [t.id, i]))
    const done = new Set<number>()
    const expected: number[] = []
    while (expected.length < n) {
      const next = tasks.findIndex((t, i) => !done.has(i) && t.awaits.every(a => done.has(indexOf.get(a)!)))
      expected.push(next)
      done.add(next)
    }
    expect(dag.order).toEqual(expected)
  })

  it('orders a 20 000-task fan-out and a 20 000-task chain', () => {
    const n = 20_000
    const fan = buildDag(Array.from({ length: n }, (_, i) => ({ id: `f${i}`, awaits: [] })))
    expect(fan.order).toEqual(Array.from({ length: n }, (_, i) => i))
    // the chain listed last task first
    const chain = buildDag(Array.from({ length: n }, (_, i) => ({ id: `c${n - 1 - i}`, awaits: i < n - 1 ? [`c${n - 2 - i}`] : [] })))
    expect(chain.order).toEqual(Array.from({ length: n }, (_, i) => n - 1 - i))
  })

  it('tasks that await each other are refused', () => {
    let err: any
    try { buildDag([{ id: 'a', awaits: ['b'] }, { id: 'b', awaits: ['a'] }, { id: 'c', awaits: [] }]) } catch (e) { err = e }
    expect(err.code).toBe('WORKFLOW_INVALID')
    expect(err.data.tasks).toEqual([0, 1])
  })
})
