import { prepareWasm } from '../artifacts/prepare.js'
import { asRuntimeError, RuntimeErrorCode } from '../errors.js'
import type { FromPreparer, ToPreparer } from './protocol.js'

/**
 * Entry point of the preparation process (`Preparer`): takes `prepare` messages over the IPC
 * channel, answers each with the prepared files or the error, and exits when the node closes
 * the channel. jco and its native helpers live and die with this process, never in the node.
 */
const send = (message: FromPreparer): void => { process.send?.(message) }

if (process.send === undefined) throw new Error('prepare-process must run as a child process with an IPC channel')

process.on('message', (message: ToPreparer) => {
  if (message.type !== 'prepare') return
  prepareWasm(message.bytes).then(
    prepared => send({ type: 'prepared', id: message.id, prepared }),
    (err: unknown) => send({ type: 'failed', id: message.id, error: asRuntimeError(err, RuntimeErrorCode.INVALID_WASM).toObject() })
  )
})
process.on('disconnect', () => process.exit(0))
