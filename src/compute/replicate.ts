import type { Ipld } from '../ipld/index.js'
import type { DispatchedResult, DispatchHooks, ReadyTask } from '../workflow/index.js'
import { HERE, type Target } from './placement.js'
import { Busy, isWithdrawn, type PeerResult } from './tries.js'
import { replicasAgree, settleAgainst, type ReplicaResult } from './verify.js'

/** What replication needs of the dispatcher. */
export interface Replicas {
  place(task: ReadyTask, excluded: ReadonlySet<string>): Target | undefined
  here(hooks: DispatchHooks): Promise<Ipld>
  onPeer(peer: string, task: ReadyTask, hooks: DispatchHooks, signal: AbortSignal): Promise<PeerResult>
  conflict(task: ReadyTask, ours: Ipld, theirs: PeerResult): void
}

/**
 * `compute.verify = replicate:<k>`: the task runs on `k` executors at once, chosen by its
 * placement (this node may be one of them). When all `k` answer the same value it is taken;
 * otherwise this node's own result settles it (run here if it was not among them), and the
 * peers that answered otherwise are in conflict. A peer that fails costs an attempt and its
 * result is missing, which also makes this node settle it.
 */
export async function runReplicated (d: Replicas, task: ReadyTask, hooks: DispatchHooks, k: number): Promise<DispatchedResult> {
  for (;;) {
    const chosen = new Set<string>()
    const targets: Target[] = []
    for (let i = 0; i < k; i++) {
      const t = d.place(task, chosen)
      if (t === undefined) break
      targets.push(t)
      chosen.add(t.kind === 'here' ? HERE : t.peer)
    }
    if (!targets.some(t => t.kind === 'peer')) return { output: await d.here(hooks), vouchers: [], computedHere: true }
    const stop = new AbortController()
    const signal = AbortSignal.any([task.signal, stop.signal])
    let withdrawn = false
    const results = await Promise.all(targets.map(async (t): Promise<ReplicaResult | PeerResult | undefined> => {
      if (t.kind === 'here') {
        try {
          return { output: await d.here(hooks) }
        } catch (err) {
          // this node's own run failed: the task's attempt fails, and the peers' tries stop
          stop.abort(err)
          throw err
        }
      }
      try {
        return await d.onPeer(t.peer, task, hooks, signal)
      } catch (err) {
        if (signal.aborted) return undefined
        if (isWithdrawn(err)) withdrawn = true
        else if (!(err instanceof Busy)) hooks.onFault(t.peer, err)
        return undefined
      }
    }))
    if (task.signal.aborted) throw task.signal.reason
    if (withdrawn) {
      await hooks.whenUnpaused()
      continue
    }
    const got = results.filter((r): r is ReplicaResult | PeerResult => r !== undefined)
    const fromPeers = got.filter((r): r is PeerResult => r.peer !== undefined)
    if (replicasAgree(got, k)) {
      const primary = targets[0]
      return {
        output: got[0].output,
        ...(primary.kind === 'peer' ? { executor: primary.peer } : {}),
        vouchers: fromPeers.map(r => r.peer),
        computedHere: got.length > fromPeers.length
      }
    }
    const mine = got.find(r => r.peer === undefined)
    const ours = mine !== undefined ? mine.output : await d.here(hooks)
    const { agree, disagree } = settleAgainst(ours, got)
    for (const r of disagree) {
      const theirs = fromPeers.find(p => p.peer === r.peer)
      if (theirs !== undefined) d.conflict(task, ours, theirs)
    }
    return { output: ours, vouchers: agree, computedHere: true }
  }
}
