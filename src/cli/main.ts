import '../polyfill.js'
import { main, reportError } from './index.js'

const args = process.argv.slice(2)
const opts = { json: args.includes('--json'), debug: args.includes('--debug') || process.env.IPVM_DEBUG === '1' }

// a reader that went away (`ipvm status | head -1`) is not an error: stop quietly
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}
// whatever escapes a command is still one line, not a stack trace
process.on('uncaughtException', err => {
  // a WebSocket reset by a node that died: its 'close' follows, and the command reports the lost node
  if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') return
  process.exit(reportError(err, opts))
})
process.on('unhandledRejection', err => { process.exit(reportError(err, opts)) })

let settled = false
// the event loop emptied while a command was still waiting: say so, rather than exit silently (13)
process.on('beforeExit', () => {
  if (!settled) process.exit(reportError(new Error('the command stopped before it finished (a part of the node did not stop cleanly)'), opts))
})
const code = await main()
settled = true
// `start` keeps running until a signal; every other command ends here
if (code !== 0 || !process.argv.slice(2).includes('start')) process.exitCode = process.exitCode ?? code
