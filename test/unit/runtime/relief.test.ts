import { describe, expect, it } from 'vitest'
import { planRelief, type ReliefInput, type WorkerView } from '../../../src/runtime/workers/relief.js'

const busy = (group: string, since: number, extra = false): WorkerView => ({ ready: true, extra, busy: { group, since } })
const held = (workers: WorkerView[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const w of workers) if (w.busy !== undefined) m.set(w.busy.group, (m.get(w.busy.group) ?? 0) + 1)
  return m
}
const input = (workers: WorkerView[], over: Partial<ReliefInput> = {}): ReliefInput =>
  ({ workers, starved: 1, held: held(workers), maxExtra: 2, reliefAfterMs: 1000, now: 10_000, ...over })

describe('planRelief: what the Wasm pool does for runs left without a worker', () => {
  it('waits while a busy call is younger than reliefAfterMs, and says for how long', () => {
    expect(planRelief(input([busy('a', 8000), busy('a', 9500)]))).toEqual({ spawn: 0, preempt: [], retryInMs: 500 })
  })

  it('does nothing while workers are starting, or when none is starved', () => {
    expect(planRelief(input([busy('a', 0), { ready: false, extra: true }]))).toEqual({ spawn: 0, preempt: [] })
    expect(planRelief(input([busy('a', 0)], { starved: 0 }))).toEqual({ spawn: 0, preempt: [] })
  })

  it('starts an extra worker per starved group, up to maxExtra', () => {
    const workers = [busy('a', 0), busy('a', 100)]
    expect(planRelief(input(workers, { starved: 1 }))).toEqual({ spawn: 1, preempt: [] })
    expect(planRelief(input(workers, { starved: 3 }))).toEqual({ spawn: 2, preempt: [1] })
  })

  it('beyond maxExtra, takes the most recent call of the group holding most, never leaving a group without a worker', () => {
    const workers = [busy('a', 0), busy('a', 300), busy('b', 50, true), busy('b', 200, true), busy('a', 100)]
    // a holds three, b two: a gives back its newest (index 1), then the tie goes to the group found first
    expect(planRelief(input(workers, { starved: 1, maxExtra: 2 }))).toEqual({ spawn: 0, preempt: [1] })
    expect(planRelief(input(workers, { starved: 2, maxExtra: 2 }))).toEqual({ spawn: 0, preempt: [1, 4] })
    expect(planRelief(input(workers, { starved: 3, maxExtra: 2 }))).toEqual({ spawn: 0, preempt: [1, 4, 3] })
    // every group down to one worker: nothing more can be taken
    expect(planRelief(input(workers, { starved: 9, maxExtra: 2 })).preempt).toHaveLength(3)
    expect(planRelief(input([busy('a', 0), busy('b', 0)], { maxExtra: 0 }))).toEqual({ spawn: 0, preempt: [] })
  })
})
