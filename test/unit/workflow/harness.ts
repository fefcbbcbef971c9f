import { Writable } from 'node:stream'
import { pino } from 'pino'
import { parseJson, parseWorkflow, type Workflow } from '../../../src/ipld/index.js'
import { IpvmError } from '../../../src/util/errors.js'
import type { Store } from '../../../src/store/index.js'
import { WorkflowEngine, type RunEvent, type RunState, type TaskRequest, type TaskRunner, type WorkflowEngineComponents, type WorkflowEngineOptions } from '../../../src/workflow/index.js'
import type { Ipld } from '../../../src/ipld/value.js'
import { memoryStore } from '../../utils/memory-store.js'

/** A Wasm call as the fake runner saw it. */
export interface Call { func: string, args: Ipld[], signal: AbortSignal, timeoutMs: number, group: string }

/**
 * A task runner without Wasm: `add_one` adds one, `fail` throws a non-retryable error,
 * `flaky` throws a retryable error its first `flakyFailures` calls, `block` waits until
 * `release()` (or its signal aborts). Every call is recorded.
 */
export class FakeRunner implements TaskRunner {
  readonly calls: Call[] = []
  flakyFailures = 0
  private gates: Array<() => void> = []
  private flakyCalls = 0

  async run (req: TaskRequest): Promise<{ output: Ipld }> {
    this.calls.push({ func: req.func, args: req.args, signal: req.signal, timeoutMs: req.timeoutMs, group: req.group })
    switch (req.func) {
      case 'add_one': return { output: (req.args[0] as number) + 1 }
      case 'fail': throw taskError('TEST_BAD_ARGUMENT', 'it cannot work', false)
      case 'flaky':
        if (this.flakyCalls++ < this.flakyFailures) throw taskError('TEST_TIMEOUT', 'too slow this time', true)
        return { output: 'steady' }
      case 'block':
        await new Promise<void>((resolve, reject) => {
          if (req.signal.aborted) { reject(taskError('TEST_CANCELLED', 'cancelled', false)); return }
          req.signal.addEventListener('abort', () => {
            this.gates = this.gates.filter(g => g !== resolve)
            reject(taskError('TEST_CANCELLED', 'cancelled', false))
          }, { once: true })
          this.gates.push(resolve)
        })
        return { output: req.args[0] ?? null }
      default: throw taskError('TEST_NO_FUNCTION', `no function ${req.func}`, false)
    }
  }

  /** Calls of `func` so far. */
  count (func: string): number {
    return this.calls.filter(c => c.func === func).length
  }

  /** Lets every blocked call finish. */
  release (): void {
    for (const open of this.gates.splice(0)) open()
  }

  get blocked (): number {
    return this.gates.length
  }
}

/** An error as the runtime raises them: a code, and whether another attempt might succeed. */
function taskError (code: string, message: string, retryable: boolean): IpvmError & { retryable: boolean } {
  return Object.assign(new IpvmError(code, message), { retryable })
}

/** Log lines the engine wrote (debug level and up), as objects. */
export function captureLogs (): { lines: Array<Record<string, unknown>>, logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done() } })
  return { lines, logger: pino({ level: 'debug' }, sink) }
}

export const RSC = 'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

export interface TaskJson { cause: null, meta: Record<string, unknown>, prf: [], run: { input: unknown, nnc: string, op: string, rsc: string } }

export function wasmTask (func: string, args: unknown[], nnc = '', meta: Record<string, unknown> = {}): TaskJson {
  return { cause: null, meta, prf: [], run: { input: { args, func }, nnc, op: 'wasm/run', rsc: RSC } }
}

export function sleepTask (input: Record<string, unknown>, nnc = ''): TaskJson {
  return { cause: null, meta: {}, prf: [], run: { input, nnc, op: 'ipvm/sleep', rsc: 'ipvm:sleep' } }
}

export function workflowOf (tasks: TaskJson[]): Workflow {
  return parseWorkflow(parseJson(JSON.stringify({ tasks })))
}

/** `{"await/ok": <instruction of t>}`. */
export function awaitOk (t: TaskJson): { 'await/ok': { '/': string } } {
  return { 'await/ok': { '/': workflowOf([t]).tasks[0].run.cid.toString() } }
}

/** add_one `length` times from `start`, each awaiting the one before. */
export function chainOf (length: number, start: number): TaskJson[] {
  const tasks: TaskJson[] = []
  for (let i = 0; i < length; i++) tasks.push(wasmTask('add_one', [i === 0 ? start : awaitOk(tasks[i - 1])]))
  return tasks
}

export interface Harness {
  store: Store
  runner: FakeRunner
  engine: WorkflowEngine
  /** Stops the engine gracefully (runs in progress stay unfinished in the store) and starts a new one on the same store. */
  restart(): Promise<WorkflowEngine>
  /**
   * Kills the engine as a crash of the process would: from this moment none of its writes
   * reach the store (its stop runs, but writes nothing); then starts a new one on the same store.
   */
  crash(): Promise<WorkflowEngine>
  close(): Promise<void>
}

/** The store as one engine sees it; `kill()` makes every later call of it fail, as if its process had died. */
function killableView (store: Store): { view: Store, kill: () => void } {
  let dead = false
  const guard = <T extends object>(target: T): T => new Proxy(target, {
    get (t, prop) {
      const value: unknown = Reflect.get(t, prop, t)
      // the repositories (`workflows`, `receipts`) die with it
      if (typeof value === 'object' && value !== null) return guard(value)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (dead) return Promise.reject(new Error('the process is dead'))
        return (value as (...a: unknown[]) => unknown).apply(t, args)
      }
    }
  })
  return { view: guard(store), kill: () => { dead = true } }
}

/** A workflow engine on an in-memory store (or `given`, started) with a fake runner: no Wasm, no files, no sockets. */
export async function harness (opts: Partial<WorkflowEngineOptions> = {}, logger = pino({ level: 'silent' }), given?: Store, extra: Partial<WorkflowEngineComponents> = {}): Promise<Harness> {
  const store = given ?? await memoryStore()
  const runner = new FakeRunner()
  const resources = {
    fetchResource: (url: string) => Promise.resolve({ bytes: new Uint8Array([0]), key: url }),
    fetchCid: () => Promise.resolve(new Uint8Array([1, 2, 3]))
  }
  let kill = (): void => {}
  const make = async (): Promise<WorkflowEngine> => {
    const { view, kill: killView } = killableView(store)
    kill = killView
    const engine = new WorkflowEngine({ retryInitialDelayMs: 1, retryMaxDelayMs: 8, ...opts }, { store: view, runner, resources, logger, ...extra })
    await engine.start()
    await engine.resumeUnfinished()
    return engine
  }
  const h: Harness = {
    store,
    runner,
    engine: await make(),
    restart: async () => {
      await h.engine.stop()
      h.engine = await make()
      return h.engine
    },
    crash: async () => {
      kill()
      await h.engine.stop()
      h.engine = await make()
      return h.engine
    },
    close: async () => {
      await h.engine.stop()
      await store.stop()
    }
  }
  return h
}

/** Every event of a run until it ends. */
export async function runEvents (run: RunState): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  run.attach(e => events.push(e))
  await run.done()
  return events
}
