import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../../util/logger.js'
import type { Artifact } from '../artifacts/artifact.js'
import { loadCachedArtifact, saveCachedArtifact } from '../artifacts/artifact-cache.js'
import type { PreparedFiles } from '../artifacts/prepare.js'
import { RuntimeError, RuntimeErrorCode, runtimeErrorFromObject } from '../errors.js'
import type { FromPreparer, ToPreparer } from './protocol.js'

export interface PreparerOptions {
  cacheDir?: string
  timeoutMs: number
  /** The process exits after this long without work. */
  idleMs: number
}

interface Pending {
  resolve: (prepared: PreparedFiles) => void
  reject: (err: RuntimeError) => void
  timer: NodeJS.Timeout
}

/** What the preparation process last wrote on stderr, for the error when it dies. */
const STDERR_TAIL_CHARS = 2000

/**
 * Prepares Wasm resources (componentize, transpile, guard) in a process of its own, started
 * on demand (prepare-process.ts), and compiles the core modules it returns here, where the
 * workers get them. jco, its Wasm and its native helpers (a Rust runtime with threads of its
 * own) take ~110 MB while they work and, in a thread of the node, kept ~50 MB of it for good;
 * in a process of their own they give it all back when it exits, and a resource that crashes
 * them takes that process down, not the node. Prepared files are kept in `cacheDir`, so a
 * restarted node compiles them without preparing again.
 */
export class Preparer {
  private child?: ChildProcess
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private idleTimer?: NodeJS.Timeout
  /** Preparations under way: `stop` waits for them, so that no cache file is still being read or written once it returns. */
  private readonly inFlight = new Set<Promise<Artifact>>()
  private stopped = false

  constructor (private readonly options: PreparerOptions, private readonly components: { logger: Logger }) {}

  async prepare (key: string, bytes: Uint8Array): Promise<Artifact> {
    const preparation = this.prepareOnce(key, bytes)
    this.inFlight.add(preparation)
    try {
      return await preparation
    } finally {
      this.inFlight.delete(preparation)
    }
  }

  private async prepareOnce (key: string, bytes: Uint8Array): Promise<Artifact> {
    const { cacheDir } = this.options
    const cached = cacheDir !== undefined ? await loadCachedArtifact(cacheDir, key) : undefined
    if (cached !== undefined) {
      try {
        return { description: cached.description, modules: await compileAll(cached.files) }
      } catch {
        // a damaged cache entry: prepare again from the resource bytes and overwrite it
      }
    }
    const prepared = await this.inProcess(bytes)
    let modules: Record<string, WebAssembly.Module>
    try {
      modules = await compileAll(prepared.files)
    } catch (err) {
      throw new RuntimeError(RuntimeErrorCode.INVALID_WASM, `cannot compile: ${(err as Error).message}`)
    }
    if (cacheDir !== undefined) {
      try {
        await saveCachedArtifact(cacheDir, key, prepared)
      } catch (err) {
        this.components.logger.warn({ warning: `cannot write the Wasm cache: ${(err as Error).message}` }, 'Wasm preparation warning')
      }
    }
    return { description: prepared.description, modules }
  }

  /** Fails what waits for the preparation process and ends it, then waits for the cache reads and writes under way. */
  async stop (): Promise<void> {
    this.stopped = true
    this.failAll(new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is stopping'))
    await Promise.allSettled([...this.inFlight])
  }

  /** The preparation process's id while it runs (diagnostics, tests). */
  get pid (): number | undefined {
    return this.child?.pid
  }

  private async inProcess (bytes: Uint8Array): Promise<PreparedFiles> {
    // a preparation that was reading the cache when the runner stopped starts no process
    if (this.stopped) throw new RuntimeError(RuntimeErrorCode.NOT_RUNNING, 'the Wasm runner is stopping')
    const child = this.ensureChild()
    const id = this.nextId++
    return await new Promise<PreparedFiles>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failAll(new RuntimeError(RuntimeErrorCode.TIMEOUT, `preparing the Wasm took longer than ${this.options.timeoutMs} ms`))
      }, this.options.timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      child.send({ type: 'prepare', id, bytes } satisfies ToPreparer)
    })
  }

  private ensureChild (): ChildProcess {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    if (this.child !== undefined) return this.child
    const child = spawnPrepareProcess()
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-STDERR_TAIL_CHARS) })
    child.on('message', (message: FromPreparer) => this.onMessage(message))
    // a failed send (the process already gone) shows as its exit
    child.on('error', () => {})
    child.on('exit', (code, signal) => {
      if (this.child !== child) return
      this.child = undefined
      const how = signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`
      const said = stderr.trim().split('\n').at(-1)
      this.failAll(new RuntimeError(RuntimeErrorCode.WORKER_CRASHED, `the Wasm preparation process died (${how})${said !== undefined && said !== '' ? `: ${said}` : ''}`))
    })
    this.child = child
    return child
  }

  private onMessage (message: FromPreparer): void {
    if (message.type !== 'prepared' && message.type !== 'failed') return
    const pending = this.pending.get(message.id)
    if (pending === undefined) return
    this.pending.delete(message.id)
    clearTimeout(pending.timer)
    if (message.type === 'prepared') pending.resolve(message.prepared)
    else pending.reject(runtimeErrorFromObject(message.error))
    if (this.pending.size === 0) {
      this.idleTimer = setTimeout(() => this.retire(), this.options.idleMs)
      this.idleTimer.unref()
    }
  }

  /** Rejects everything pending and ends the process. */
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
    const child = this.child
    this.child = undefined
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

async function compileAll (files: Record<string, Uint8Array>): Promise<Record<string, WebAssembly.Module>> {
  const modules: Record<string, WebAssembly.Module> = {}
  for (const [name, file] of Object.entries(files)) modules[name] = await WebAssembly.compile(file as Uint8Array<ArrayBuffer>)
  return modules
}

/**
 * The preparation process: `prepare-process.js` beside this file (the compiled package), or,
 * when this file runs as TypeScript source (tests, tsx), `prepare-process.ts` through tsx.
 * Uint8Arrays cross the IPC channel as themselves (`advanced` serialization).
 */
function spawnPrepareProcess (): ChildProcess {
  const ts = import.meta.url.endsWith('.ts')
  const entry = fileURLToPath(new URL(ts ? './prepare-process.ts' : './prepare-process.js', import.meta.url))
  return fork(entry, [], { execArgv: ts ? ['--import', 'tsx'] : [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
}
