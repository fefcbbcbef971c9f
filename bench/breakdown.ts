import type { IpvmNode } from '../src/node/index.js'
import { Connection } from '../src/rpc/connection.js'
import { RunState } from '../src/workflow/index.js'

/**
 * Where the node's time goes (`--breakdown`): wraps the methods at the node's component
 * boundaries (router, store, Wasm runner, runs, connections) in timers. Wall time per stage,
 * summed over calls; stages nest (a receipt write happens while a workflow runs) and in
 * concurrent phases their sums exceed the phase's wall time. Reaches into private fields,
 * so it is bench-only and off by default; a stage whose method is missing is left out.
 */
export class Breakdown {
  private readonly stats = new Map<string, { calls: number, totalMs: number }>()
  /** Stages that could not be instrumented (the method is not there in this version). */
  readonly missing: string[] = []

  private record (label: string, ms: number): void {
    const s = this.stats.get(label) ?? { calls: 0, totalMs: 0 }
    s.calls++
    s.totalMs += ms
    this.stats.set(label, s)
  }

  wrap (target: unknown, method: string, label: string): void {
    const obj = target as Record<string, unknown> | undefined
    const original = obj?.[method]
    if (obj === undefined || obj === null || typeof original !== 'function') {
      this.missing.push(label)
      return
    }
    const record = this.record.bind(this)
    obj[method] = function (this: unknown, ...args: unknown[]): unknown {
      const t0 = performance.now()
      let out: unknown
      try {
        out = (original as (...a: unknown[]) => unknown).apply(this, args)
      } catch (err) {
        record(label, performance.now() - t0)
        throw err
      }
      if (out instanceof Promise) return out.finally(() => record(label, performance.now() - t0))
      record(label, performance.now() - t0)
      return out
    }
  }

  /** The stages since the last call, and starts counting afresh. */
  take (): Array<{ stage: string, calls: number, totalMs: number, meanMs: number }> {
    const rows = [...this.stats.entries()].map(([stage, s]) => ({ stage, calls: s.calls, totalMs: s.totalMs, meanMs: s.totalMs / s.calls }))
    this.stats.clear()
    return rows
  }
}

type Internals = Record<string, unknown> | undefined

/** Instruments the stages of a request and of a workflow run on `node` (and on every Run and Connection of the process). */
export function instrumentNode (node: IpvmNode, b: Breakdown): void {
  const n = node as unknown as Internals
  const store = n?.store as Internals
  const engine = n?.engine as Internals
  const components = engine?.c as Internals
  b.wrap(n?.router, 'handle', 'rpc: router.handle (validate + method)')
  b.wrap(store, 'ping', 'store: ping (health read)')
  b.wrap(engine, 'submit', 'engine.submit (plan, admit, start run)')
  b.wrap(store?.receipts, 'getByInstruction', 'store: receipt lookup by instruction')
  b.wrap(store?.receipts, 'putMany', 'store: receipt write (sync)')
  b.wrap(store?.workflows, 'put', 'store: workflow record put (sync)')
  b.wrap(store?.workflows, 'update', 'store: workflow record update (sync)')
  b.wrap(components?.resources, 'fetch', 'resources.fetch (Wasm bytes)')
  b.wrap(components?.runner, 'run', 'runner.run (worker call)')
  b.wrap(RunState.prototype, 'emit', 'run.emit (to subscribers, incl. ws send)')
  b.wrap(Connection.prototype, 'sendNotification', 'ws: send notification')
}
