import type { Placement } from '../workflow/index.js'

/** Where one try of a task goes: here, or a peer. */
export type Target = { kind: 'here' } | { kind: 'peer', peer: string }

/** A peer that could take the task, as its offer and this node's own dispatches describe it. */
export interface PeerSlot {
  peer: string
  /** Tasks this node has on it now. */
  inFlight: number
  /** Tasks it runs at once. */
  capacity: number
  /** Its load from others (its other work when it made its offer). */
  othersLoad: number
  /** Whether it may take one more from this node (its and this node's per-peer bound, a fresh offer, the task fits its limits). */
  room: boolean
}

/** This node's own load. */
export interface LocalSlot {
  /** Tasks running here now (its own and peers'). */
  inFlight: number
  capacity: number
}

export interface PlacementQuery {
  mode: Placement
  local: LocalSlot
  peers: PeerSlot[]
  /** Peers (and `here`, as the string 'here') this try must not go to. */
  excluded: ReadonlySet<string>
  /** A counter that turns with every decision: ties go round. */
  turn: number
}

export const HERE = 'here'

/** How loaded an executor would be with one more task: 1 = every slot busy. */
function score (inFlight: number, othersLoad: number, capacity: number): number {
  return (inFlight + othersLoad + 1) / Math.max(1, capacity)
}

/**
 * Where a try goes, or undefined when nowhere fits (only when `here` is excluded):
 * - `local`: here;
 * - `spread`: here or a peer with room, whichever would be least loaded (ties go round, so
 *   equal executors take turns);
 * - `remote-first`: the least loaded peer with room; here when none has.
 */
export function choose (q: PlacementQuery): Target | undefined {
  const hereAllowed = !q.excluded.has(HERE)
  if (q.mode === 'local') return hereAllowed ? { kind: 'here' } : undefined
  const peers = q.peers.filter(p => p.room && !q.excluded.has(p.peer)).sort((a, b) => a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0)
  const options: Array<{ target: Target, score: number }> = peers.map(p => ({ target: { kind: 'peer', peer: p.peer }, score: score(p.inFlight, p.othersLoad, p.capacity) }))
  if (q.mode === 'spread' && hereAllowed) options.unshift({ target: { kind: 'here' }, score: score(q.local.inFlight, 0, q.local.capacity) })
  if (options.length === 0) return hereAllowed ? { kind: 'here' } : undefined
  const best = Math.min(...options.map(o => o.score))
  const tied = options.filter(o => o.score <= best + 1e-9)
  return tied[q.turn % tied.length].target
}
