import { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { collectRun, isReceiptNotification, isStatusNotification, type RunNotification } from '../../client/index.js'
import { CliError, print, withClient, withClientOptions, type ClientFlags } from '../shared.js'

interface RunFlags extends ClientFlags { name?: string, timeout?: string }

const EXIT_FAILED = 1
const EXIT_CANCELLED = 3

/**
 * `ipvm run FILE.json`: submits a workflow, shows progress, prints each receipt, and exits 0
 * when the workflow completed, non-zero when it failed or was cancelled.
 */
export function runCommand (): Command {
  return withClientOptions(new Command('run'))
    .description('run a workflow file on a node and print its receipts (exit 0 when it completes)')
    .argument('<file>', 'workflow JSON file')
    .option('-n, --name <name>', 'name of the run (default: the workflow CID)')
    .option('--timeout <ms>', 'give up when no notification arrives for this long', '600000')
    .action(async (file: string, flags: RunFlags) => {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`)
      }
      const timeoutMs = Number(flags.timeout)
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout must be a positive number of milliseconds, got "${flags.timeout ?? ''}"`)
      const tty = process.stdout.isTTY === true && flags.json !== true
      const result = await withClient(flags, async client => {
        const stream = await client.runWorkflow(text, flags.name !== undefined ? { name: flags.name } : {})
        let done = 0
        let total: number | undefined
        return await collectRun(stream, timeoutMs, (n: RunNotification) => {
          if (flags.json === true) {
            print(JSON.stringify(n))
            return
          }
          if (isReceiptNotification(n)) {
            done++
            const [tag, value] = n.receipt.out
            const line = `${tag === 'ok' ? 'ok   ' : 'error'}  ${n.receipt.meta.op}  ${short(value)}  ${n.receipt_cid['/']}${n.metadata.replayed ? '  (replayed)' : ''}`
            if (tty) process.stdout.write(`\r\x1b[K${line}\n[${done}${total !== undefined ? `/${total}` : ''}] receipts`)
            else print(line)
          } else if (isStatusNotification(n)) {
            total = n.workflow_status.tasks.total
          }
        })
      })
      if (tty) process.stdout.write('\r\x1b[K')
      const s = result.status
      if (flags.json !== true) {
        print(`${s.status}: ${s.tasks.total} task${s.tasks.total === 1 ? '' : 's'}, ${s.tasks.executed} executed, ${s.tasks.replayed} replayed, ${s.tasks.failed} failed${s.tasks.skipped > 0 ? `, ${s.tasks.skipped} skipped` : ''} (workflow ${s.workflow['/']})`)
        if (s.error !== undefined) print(`error: ${s.error.message} [${s.error.code}]`)
      }
      if (s.status === 'failed') process.exitCode = EXIT_FAILED
      if (s.status === 'cancelled') process.exitCode = EXIT_CANCELLED
    })
}

function short (value: unknown): string {
  const text = JSON.stringify(value) ?? 'null'
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
