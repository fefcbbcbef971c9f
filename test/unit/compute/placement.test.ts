import { describe, expect, it } from 'vitest'
import { choose, HERE, type PeerSlot, type PlacementQuery } from '../../../src/compute/index.js'

const peer = (id: string, over: Partial<PeerSlot> = {}): PeerSlot => ({ peer: id, inFlight: 0, capacity: 2, othersLoad: 0, room: true, ...over })

function query (over: Partial<PlacementQuery>): PlacementQuery {
  return { mode: 'spread', local: { inFlight: 0, capacity: 2 }, peers: [peer('B'), peer('C')], excluded: new Set(), turn: 0, ...over }
}

/** Places `n` tasks one after another, each staying in flight, as a burst of ready tasks does. */
function burst (n: number, q: PlacementQuery): string[] {
  const local = { ...q.local }
  const peers = q.peers.map(p => ({ ...p }))
  const out: string[] = []
  for (let turn = 0; turn < n; turn++) {
    const t = choose({ ...q, local, peers, turn })
    if (t === undefined) throw new Error('nowhere')
    if (t.kind === 'here') {
      local.inFlight++
      out.push(HERE)
    } else {
      peers.find(p => p.peer === t.peer)!.inFlight++
      out.push(t.peer)
    }
  }
  return out
}

const tally = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {})

describe('placement', () => {
  it('local: always here, whatever the peers offer', () => {
    expect(burst(5, query({ mode: 'local' }))).toEqual([HERE, HERE, HERE, HERE, HERE])
    expect(choose(query({ mode: 'local', excluded: new Set([HERE]) }))).toBeUndefined()
  })

  it('spread: equal executors share a burst evenly, here included', () => {
    expect(tally(burst(30, query({})))).toEqual({ [HERE]: 10, B: 10, C: 10 })
  })

  it('spread: weighs capacity and the load others put on a peer', () => {
    // B runs 4 at once, C 2 of which are busy with others' work, here 2
    const got = tally(burst(16, query({ peers: [peer('B', { capacity: 4 }), peer('C', { capacity: 4, othersLoad: 2 })] })))
    expect(got.B).toBeGreaterThan(got[HERE])
    expect(got.B).toBeGreaterThan(got.C)
    expect(got[HERE] + got.B + got.C).toBe(16)
  })

  it('spread: ties go round with the turn, so no executor is always first', () => {
    const firsts = new Set([0, 1, 2].map(turn => JSON.stringify(choose(query({ turn })))))
    expect(firsts.size).toBe(3)
  })

  it('remote-first: peers with room first, here only when none has', () => {
    expect(tally(burst(6, query({ mode: 'remote-first' })))).toEqual({ B: 3, C: 3 })
    expect(choose(query({ mode: 'remote-first', peers: [peer('B', { room: false }), peer('C', { room: false })] }))).toEqual({ kind: 'here' })
    expect(choose(query({ mode: 'remote-first', peers: [] }))).toEqual({ kind: 'here' })
  })

  it('never picks a peer without room or one excluded (it failed this task already)', () => {
    for (const mode of ['spread', 'remote-first'] as const) {
      const picks = burst(12, query({ mode, peers: [peer('B', { room: false }), peer('C')], excluded: new Set(['C']) }))
      expect(new Set(picks)).toEqual(new Set([HERE]))
    }
  })

  it('with here excluded too (replicas), nowhere is left once the peers are used', () => {
    expect(choose(query({ excluded: new Set([HERE, 'B', 'C']) }))).toBeUndefined()
    expect(choose(query({ excluded: new Set([HERE, 'B']) }))).toEqual({ kind: 'peer', peer: 'C' })
  })
})
