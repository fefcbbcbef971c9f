/** A worker as the relief planner sees it. */
export interface WorkerView {
  ready: boolean
  extra: boolean
  /** The group whose call it runs, and since when (performance.now()); absent when idle. */
  busy?: { group: string, since: number }
}

export interface ReliefInput {
  workers: WorkerView[]
  /** Groups with calls waiting and no worker. */
  starved: number
  /** Workers each group holds. */
  held: ReadonlyMap<string, number>
  maxExtra: number
  reliefAfterMs: number
  now: number
}

export interface ReliefPlan {
  /** Extra workers to start. */
  spawn: number
  /** Workers (indexes into `workers`) whose calls to stop and queue again, to give a starved group their place. */
  preempt: number[]
  /** Plan again in this many ms (the busy calls are not old enough yet). */
  retryInMs?: number
}

/**
 * What to do for groups left without a worker: nothing while workers are starting (they will
 * take them) or while some busy call is younger than `reliefAfterMs` (it may end soon);
 * otherwise start extra workers, up to `maxExtra`, and beyond that take workers back from
 * groups that hold more than one: each such group gives back its most recent call (the one
 * that loses least work), the group holding most first, never going below one worker.
 */
export function planRelief (input: ReliefInput): ReliefPlan {
  const { workers, starved, maxExtra, reliefAfterMs, now } = input
  const none: ReliefPlan = { spawn: 0, preempt: [] }
  let need = starved - workers.filter(w => !w.ready).length
  if (need <= 0) return none
  let youngest = -Infinity
  for (const w of workers) if (w.busy !== undefined) youngest = Math.max(youngest, w.busy.since)
  if (youngest === -Infinity) return none
  const waitMs = youngest + reliefAfterMs - now
  if (waitMs > 0) return { ...none, retryInMs: Math.ceil(waitMs) }
  const spawn = Math.max(0, Math.min(need, maxExtra - workers.filter(w => w.extra).length))
  need -= spawn
  const held = new Map(input.held)
  const preempt: number[] = []
  while (need > 0) {
    let group: string | undefined
    for (const [g, n] of held) if (n > 1 && (group === undefined || n > held.get(group)!)) group = g
    if (group === undefined) break
    let pick = -1
    workers.forEach((w, i) => {
      if (w.busy?.group === group && !preempt.includes(i) && (pick < 0 || w.busy.since > workers[pick].busy!.since)) pick = i
    })
    if (pick < 0) break
    preempt.push(pick)
    held.set(group, held.get(group)! - 1)
    need--
  }
  return { spawn, preempt }
}
