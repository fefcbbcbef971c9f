import type { Worker } from 'node:worker_threads'
import type { Logger } from '../../util/logger.js'
import type { Artifact } from '../artifacts/artifact.js'
import { RuntimeError, RuntimeErrorCode, runtimeErrorFromObject } from '../errors.js'
import type { FromWorker, ToWorker } from './protocol.js'
import { spawnRuntimeWorker } from './worker-spawn.js'

export interface PreparerOptions {
  cacheDir?: string
  timeoutMs: number
  /** The worker exits after this long without work (it holds jco, tens of MB). */
  idleMs: number
}

interface Pending {
  resolve: (artifact: Artifact) => void
  reject: (err: RuntimeError) => void
  timer: NodeJS.Timeout
}

/**
 * Prepares Wasm resources (componentize, transpile, guard, compile) in a worker of
 * its own, started on demand, so the main thread never blocks on jco.
 */
export class Preparer {
  private worker?: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private idleTimer?: NodeJS.Timeout

  constructor (private readonly options: PreparerOptions, private readonly components: { logger: Logger }) {}

  async prepare (key: string, bytes: Uint8Array): Promise<Artifact> {
    const worker = this.ensureWorker()
    const id = this.nextId++
    return new Promise<Artifact>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failAll(new RuntimeError(RuntimeErrorCode.TIMEOUT, `preparing the Wasm took longer than ${this.options.timeoutMs} ms`))
      }, this.options.timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      worker.postMessage({ type: 'prepare', id, key, bytes, ...(this.options.cacheDir !== undefined ? { cacheDir: this.options.cacheDir } : {}) } satisfies ToWorker)
    })
  }

  stop (): Promise<void> {
    this.failAll(new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is stopping'))
    return Promise.resolve()
  }

  private ensureWorker (): Worker {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    if (this.worker !== undefined) return this.worker
    const worker = spawnRuntimeWorker()
    let lastError: Error | undefined
    worker.on('message', (message: FromWorker) => this.onMessage(message))
    worker.on('error', (err: Error) => { lastError = err })
    worker.on('exit', code => {
      if (this.worker !== worker) return
      this.worker = undefined
      this.failAll(new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `the Wasm preparation worker died: ${lastError?.message ?? `exit code ${code}`}`))
    })
    this.worker = worker
    return worker
  }

  private onMessage (message: FromWorker): void {
    if (message.type !== 'prepared' && message.type !== 'failed') return
    const pending = this.pending.get(message.id)
    if (pending === undefined) return
    this.pending.delete(message.id)
    clearTimeout(pending.timer)
    if (message.type === 'prepared') {
      if (message.warning !== undefined) this.components.logger.warn({ warning: message.warning }, 'Wasm preparation warning')
      pending.resolve(message.artifact)
    }
    else pending.reject(runtimeErrorFromObject(message.error))
    if (this.pending.size === 0) {
      this.idleTimer = setTimeout(() => this.retire(), this.options.idleMs)
      this.idleTimer.unref()
    }
  }

  /** Rejects everything pending and terminates the worker. */
  private failAll (error: RuntimeError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(error)
    }
    this.pending.clear()
    this.retire()
  }

  private retire (): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    const worker = this.worker
    this.worker = undefined
    if (worker !== undefined) void worker.terminate()
  }
}
