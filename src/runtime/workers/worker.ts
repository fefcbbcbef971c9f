import { readlinkSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { asRuntimeError, RuntimeErrorCode } from '../errors.js'
import { BusyClock } from './busy-clock.js'
import { Executor } from './execute.js'
import { setThreadNiceness, WASM_NICENESS } from './priority.js'
import type { FromWorker, ToWorker } from './protocol.js'
import type { RuntimeWorkerData } from './worker-spawn.js'

/**
 * Entry point of the runtime workers: they receive `run` (with the compiled artifact the
 * first time they see a key) and `forget`. Replies are posted in the order calls finish.
 * (Resources are prepared in a process of its own: prepare-process.ts.)
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
const clock = new BusyClock((workerData as RuntimeWorkerData).clock)
const post = (message: FromWorker): void => port.postMessage(message)

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'run': {
      const { id, artifact, request } = message
      clock.begin()
      try {
        if (artifact !== undefined) executor.load(request.key, artifact)
      } catch (err) {
        clock.end()
        post({ type: 'failed', id, error: asRuntimeError(err, RuntimeErrorCode.INVALID_WASM).toObject() })
        return
      }
      executor.run(request).then(result => {
        clock.end()
        if (result.ok) post({ type: 'done', id, outcome: result.outcome })
        else post({ type: 'failed', id, error: result.error, logs: result.logs })
      }, (err: unknown) => {
        clock.end()
        post({ type: 'failed', id, error: asRuntimeError(err, RuntimeErrorCode.TRAP).toObject() })
      })
      return
    }
    case 'forget':
      executor.forget(message.key)
  }
})

post({ type: 'ready', ...(tid !== undefined ? { tid } : {}) })
