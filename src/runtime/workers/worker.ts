import { readlinkSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import type { Artifact } from '../artifacts/artifact.js'
import { loadCachedArtifact, saveCachedArtifact } from '../artifacts/artifact-cache.js'
import { RuntimeError, RuntimeErrorCode } from '../errors.js'
import { Executor } from './execute.js'
import { prepareWasm } from '../artifacts/prepare.js'
import { setThreadNiceness, WASM_NICENESS } from './priority.js'
import type { FromWorker, ToWorker } from './protocol.js'

/**
 * Entry point of the runtime workers. Execution workers receive `run` (with the
 * compiled artifact the first time they see a key) and `forget`; the preparation
 * worker receives `prepare`. Replies are posted in the order calls finish.
 */
const port = parentPort
if (port === null) throw new Error('worker.ts must run in a worker thread')

/**
 * Wasm runs at a lower CPU priority than the thread that answers clients: on a busy machine
 * a task that computes for minutes takes the processor time nobody else wants, and requests,
 * receipts and short tasks' bookkeeping go first. Linux gives each thread its own nice value
 * (`/proc/thread-self` names this one; the pool lowers it further during a long call);
 * elsewhere, or where it is refused, nothing changes. Returns the thread id when it is known.
 */
function lowerPriority (): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (!Number.isInteger(tid) || tid <= 0 || tid === process.pid) return undefined
    setThreadNiceness(tid, WASM_NICENESS)
    return tid
  } catch {
    // not Linux: Wasm shares the processor as an ordinary thread
    return undefined
  }
}
const tid = lowerPriority()

const executor = new Executor()
const post = (message: FromWorker): void => port.postMessage(message)

function errorObject (err: unknown, code: RuntimeErrorCode): RuntimeError {
  if (err instanceof RuntimeError) return err
  return new RuntimeError(code, err instanceof Error ? err.message : String(err))
}

async function compileAll (files: Record<string, Uint8Array>): Promise<Record<string, WebAssembly.Module>> {
  const modules: Record<string, WebAssembly.Module> = {}
  for (const [name, file] of Object.entries(files)) modules[name] = await WebAssembly.compile(file as Uint8Array<ArrayBuffer>)
  return modules
}

/** Prepares `bytes`, or loads what an earlier run prepared for `key` from `cacheDir`. */
async function prepare (key: string, bytes: Uint8Array, cacheDir: string | undefined): Promise<{ artifact: Artifact, warning?: string }> {
  const cached = cacheDir !== undefined ? await loadCachedArtifact(cacheDir, key) : undefined
  if (cached !== undefined) {
    try {
      return { artifact: { description: cached.description, modules: await compileAll(cached.files) } }
    } catch {
      // a damaged cache entry: prepare again from the resource bytes and overwrite it
    }
  }
  const prepared = await prepareWasm(bytes)
  let modules: Record<string, WebAssembly.Module>
  try {
    modules = await compileAll(prepared.files)
  } catch (err) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_WASM, `cannot compile: ${(err as Error).message}`)
  }
  const artifact = { description: prepared.description, modules }
  if (cacheDir === undefined) return { artifact }
  try {
    await saveCachedArtifact(cacheDir, key, prepared)
    return { artifact }
  } catch (err) {
    return { artifact, warning: `cannot write the Wasm cache: ${(err as Error).message}` }
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'run': {
      const { id, artifact, request } = message
      try {
        if (artifact !== undefined) executor.load(request.key, artifact)
      } catch (err) {
        post({ type: 'failed', id, error: errorObject(err, RuntimeErrorCode.INVALID_WASM).toObject() })
        return
      }
      executor.run(request).then(result => {
        if (result.ok) post({ type: 'done', id, outcome: result.outcome })
        else post({ type: 'failed', id, error: result.error, logs: result.logs })
      }, (err: unknown) => post({ type: 'failed', id, error: errorObject(err, RuntimeErrorCode.TRAP).toObject() }))
      return
    }
    case 'prepare':
      prepare(message.key, message.bytes, message.cacheDir).then(
        ({ artifact, warning }) => post({ type: 'prepared', id: message.id, artifact, ...(warning !== undefined ? { warning } : {}) }),
        (err: unknown) => post({ type: 'failed', id: message.id, error: errorObject(err, RuntimeErrorCode.INVALID_WASM).toObject() })
      )
      return
    case 'forget':
      executor.forget(message.key)
  }
})

post({ type: 'ready', ...(tid !== undefined ? { tid } : {}) })
