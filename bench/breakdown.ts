import { Connection, Router } from '../src/rpc/index.js'
import { ReceiptStore, Store, WorkflowStore } from '../src/store/index.js'
import { ResourceResolver } from '../src/resources/index.js'
import { WasmRunner } from '../src/runtime/index.js'
import { RunState, WorkflowEngine } from '../src/workflow/index.js'

/**
 * Where the node's time goes (`--breakdown`): wraps the public methods at the node's
 * component boundaries (router, store, resources, Wasm runner, runs, connections) in timers,
 * on their classes, so every instance in this process is timed. Wall time per stage, summed
 * over calls; stages nest (a receipt write happens while a workflow runs) and in concurrent
 * phases their sums exceed the phase's wall time. Bench-only and off by default. Methods are
 * named through the classes' types, so a renamed one fails to compile instead of being
 * silently left out.
 */
export class Breakdown {
  private readonly stats = new Map<string, { calls: number, totalMs: number }>()

  private record (label: string, ms: number): void {
    const s = this.stats.get(label) ?? { calls: 0, totalMs: 0 }
    s.calls++
    s.totalMs += ms
    this.stats.set(label, s)
  }

  wrap<T extends object, K extends keyof T & string> (target: T, method: K, label: string): void {
    const obj = target as Record<string, unknown>
    const original = obj[method]
    if (typeof original !== 'function') throw new Error(`${method} is not a method`)
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

/** Instruments the stages of a request and of a workflow run, in every node of this process. Call once. */
export function instrumentNodes (b: Breakdown): void {
  b.wrap(Router.prototype, 'handle', 'rpc: router.handle (validate + method)')
  b.wrap(Store.prototype, 'ping', 'store: ping (health read)')
  b.wrap(WorkflowEngine.prototype, 'submit', 'engine.submit (plan, admit, start run)')
  b.wrap(ReceiptStore.prototype, 'getManyByInstruction', 'store: receipt lookup by instruction')
  b.wrap(ReceiptStore.prototype, 'put', 'store: receipt write')
  b.wrap(WorkflowStore.prototype, 'put', 'store: workflow record put')
  b.wrap(WorkflowStore.prototype, 'update', 'store: workflow record update')
  b.wrap(ResourceResolver.prototype, 'fetchResource', 'resources.fetchResource (Wasm bytes)')
  b.wrap(WasmRunner.prototype, 'run', 'runner.run (worker call)')
  b.wrap(RunState.prototype, 'taskSucceeded', 'run: task succeeded (to subscribers, incl. ws send)')
  b.wrap(Connection.prototype, 'sendNotification', 'ws: send notification')
}
