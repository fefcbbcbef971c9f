import { Command } from 'commander'
import {
  RpcClientError, isReceiptNotification, isStatusNotification, type IpvmClient, type ReceiptNotification, type RunNotification,
  type SubscriptionStream, type WorkflowRunJson, type WorkflowStatusNotification
} from '../../client/index.js'
import { CliError, CliErrorCode, ExitCode, usageError } from '../errors.js'
import { hintFor } from '../hints.js'
import { RunProgress } from '../progress.js'
import { asCliError, connectClient, print, withClientOptions } from '../shared.js'
import { addFiles, findOrStartNode, type TargetFlags } from '../target.js'

interface RunFlags extends TargetFlags { name?: string, timeout?: string }

type FinalStatus = WorkflowStatusNotification['workflow_status']

/** How often a run's status is read while no notification arrives: on a terminal (to redraw), piped (a keep-alive). */
const POLL_TTY_MS = 1000
const POLL_PIPED_MS = 15_000

/**
 * `ipvm run FILE`: runs a workflow file (Homestar's JSON or the authoring form) on the node of
 * the data folder, or on a node started for the run when none answers; adds the Wasm files
 * beside the workflow that its tasks name; prints each receipt; waits as long as the run lives.
 */
export function runCommand (): Command {
  return withClientOptions(new Command('run'))
    .description('run a workflow file and print its receipts (exit 0 completed, 1 failed, 3 cancelled)')
    .argument('<file>', 'workflow file: Homestar\'s JSON, or the authoring form (tasks with names)')
    .option('-n, --name <name>', 'name of the run (default: the file\'s "name", else the workflow CID)')
    .option('-c, --config <file>', 'TOML settings file of the node started for the run')
    .option('--network', 'when no node runs: join the libp2p network too (off by default)')
    .option('--log-level <level>', 'log level of the node started for the run (default warn)')
    .option('--timeout <ms>', 'give up after this long (default: wait as long as the run lives)')
    .action(async (file: string, flags: RunFlags) => {
      let timeoutMs: number | undefined
      if (flags.timeout !== undefined) {
        timeoutMs = Number(flags.timeout)
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw usageError(`--timeout must be a positive number of milliseconds, got "${flags.timeout}"`)
      }
      // loaded when a workflow file is read: its compiler and planner (the store's and the
      // dashboard's code) are not what `ipvm --help` or a client command should wait for
      const { readWorkflowFile } = await import('../workflow-file.js')
      const wf = await readWorkflowFile(file)
      const json = flags.json === true
      const target = await findOrStartNode(flags)
      const embedded = target.embedded
      // Ctrl-C with a node started for the run: stop it cleanly; the run resumes with the next node on the folder
      let interrupted = false
      const interrupt = (): void => {
        interrupted = true
        process.stderr.write(`\ninterrupted: workflow ${wf.plan.workflow} goes on when a node next starts on this data folder\n`)
        void (embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(ExitCode.INTERRUPTED))
      }
      if (embedded !== undefined) process.once('SIGINT', interrupt)
      let result: { receipts: ReceiptNotification[], status: FinalStatus }
      try {
        if (wf.files.length > 0) await addFiles(target, wf.files)
        const client = await connectClient(target.url, target.token)
        try {
          const name = flags.name ?? wf.name
          const progress = new RunProgress({ tty: process.stdout.isTTY === true && !json, total: wf.plan.tasks.length, names: wf.names })
          const stream = await client.runWorkflow(wf.text, name !== undefined ? { name } : {})
          result = await follow(client, stream, wf.plan.workflow, progress, json, timeoutMs)
          progress.finish()
        } catch (err) {
          // the connection closes because the node is stopping for Ctrl-C: the handler exits
          if (interrupted) await new Promise<never>(() => {})
          throw asCliError(err)
        } finally {
          await client.close()
        }
      } finally {
        process.off('SIGINT', interrupt)
        await embedded?.stop()
      }
      const s = result.status
      if (!json) {
        print(`${s.status}: ${s.tasks.total} task${s.tasks.total === 1 ? '' : 's'}, ${s.tasks.executed} executed, ${s.tasks.replayed} replayed, ${s.tasks.failed} failed${s.tasks.skipped > 0 ? `, ${s.tasks.skipped} skipped` : ''}${s.retries > 0 ? `, ${s.retries} retries` : ''} (workflow ${s.workflow['/']})`)
        if (s.error !== undefined) {
          const hint = hintFor(s.error.code)
          print(`error: ${s.error.message} [${s.error.code}]${hint !== undefined ? `; ${hint}` : ''}`)
        }
        if (wf.missing.length > 0 && s.error?.code === 'RESOURCE_UNAVAILABLE') {
          print(`no file beside ${file} has the CID ${wf.missing.join(', ')}: put the Wasm file there, or \`ipvm add FILE\``)
        }
      }
      if (s.status === 'failed') process.exitCode = ExitCode.FAILED
      if (s.status === 'cancelled') process.exitCode = ExitCode.CANCELLED
    })
}

/**
 * Reads the run's notifications until its final status. While none arrives, the run's status
 * is read every poll interval: it redraws the progress, keeps the connection in use, and ends
 * the wait if the run ended without the final notification reaching us.
 */
async function follow (client: IpvmClient, stream: SubscriptionStream<RunNotification>, cid: string, progress: RunProgress, json: boolean, timeoutMs: number | undefined): Promise<{ receipts: ReceiptNotification[], status: FinalStatus }> {
  const receipts: ReceiptNotification[] = []
  const deadline = timeoutMs !== undefined ? Date.now() + timeoutMs : Infinity
  const pollMs = process.stdout.isTTY === true && !json ? POLL_TTY_MS : POLL_PIPED_MS
  let pending = stream.next()
  let endedSeen = 0
  // the node may go away while its status is read as well as between notifications
  const status = async (): Promise<WorkflowRunJson | undefined> => await readStatus(client, cid).catch((err: unknown) => { throw client.isOpen ? err : nodeLost(cid) })
  try {
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new CliError(CliErrorCode.TIMEOUT, `--timeout passed (${timeoutMs ?? 0} ms) before workflow ${cid} ended`, { exitCode: ExitCode.TIMEOUT, hint: `the run goes on where the node runs: \`ipvm status ${cid}\`` })
      }
      let timer: NodeJS.Timeout | undefined
      const tick = new Promise<'tick'>(resolve => { timer = setTimeout(() => resolve('tick'), Math.min(pollMs, left)) })
      const next = await Promise.race([pending, tick]).finally(() => clearTimeout(timer))
      if (next === 'tick') {
        const run = await status()
        if (run !== undefined) {
          progress.polled(run)
          // the run ended but its final notification has not come: give it one more interval
          if (['completed', 'failed', 'cancelled'].includes(run.status) && ++endedSeen >= 2) return { receipts, status: statusOf(run) }
        }
        continue
      }
      if (next.done === true) throw nodeLost(cid)
      pending = stream.next()
      const n = next.value
      if (json) print(JSON.stringify(n))
      if (isReceiptNotification(n)) {
        receipts.push(n)
        if (!json) progress.receipt(n)
      } else if (isStatusNotification(n)) {
        // the notification has no wake time: read it, to say until when the run sleeps
        const wake = n.workflow_status.status === 'sleeping' && !json ? (await status())?.wake_at : undefined
        if (!json) progress.update({ ...n.workflow_status, ...(wake !== undefined ? { wake_at: wake } : {}) })
        if (n.workflow_status.final) return { receipts, status: n.workflow_status }
      }
    }
  } finally {
    await stream.close()
  }
}

/** The node closed the connection while the run went on. */
function nodeLost (cid: string): CliError {
  return new CliError(CliErrorCode.NODE_LOST, `the node closed the connection before workflow ${cid} ended (it stopped or crashed)`, {
    exitCode: ExitCode.UNREACHABLE,
    hint: `a run goes on when its node starts again: \`ipvm status ${cid}\``
  })
}

/** The run's status; undefined while the node has not stored it yet. */
async function readStatus (client: IpvmClient, cid: string): Promise<WorkflowRunJson | undefined> {
  return await client.request<WorkflowRunJson>('workflow_status', [cid]).catch((err: unknown) => {
    if (err instanceof RpcClientError && err.nodeCode === 'WORKFLOW_NOT_FOUND') return undefined
    throw err
  })
}

/** A final status read with `workflow_status`, in the shape of the final notification. */
function statusOf (run: WorkflowRunJson): FinalStatus {
  const tasks = run.tasks ?? { total: run.progress.tasks, executed: run.progress.receipts, replayed: 0, failed: 0, skipped: 0 }
  return {
    workflow: run.workflow,
    name: run.name,
    status: run.status as FinalStatus['status'],
    final: true,
    tasks,
    retries: run.retries,
    ...(run.error !== undefined ? { error: run.error } : {}),
    timestamp: run.updated_at
  }
}
