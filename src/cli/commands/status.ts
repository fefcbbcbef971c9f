import { Command } from 'commander'
import type { WorkflowPageJson, WorkflowRunJson } from '../../client/index.js'
import { usageError } from '../errors.js'
import { print, withClient, withClientOptions, type ClientFlags } from '../shared.js'

const STATUSES = ['pending', 'running', 'paused', 'sleeping', 'completed', 'failed', 'cancelled']

interface StatusFlags extends ClientFlags { status?: string, limit?: string, cursor?: string }

/** `ipvm status [CID]`: one run in detail, or a table of the most recent runs. */
export function statusCommand (): Command {
  return withClientOptions(new Command('status'))
    .description('show a workflow run, or the most recent runs')
    .argument('[cid]', 'workflow CID (default: list recent runs)')
    .option('-s, --status <status>', `only runs with this status (${STATUSES.join(', ')})`)
    .option('-l, --limit <n>', 'runs to list', '20')
    .option('--cursor <cursor>', 'continue a listing where the previous page ended')
    .action(async (cid: string | undefined, flags: StatusFlags) => {
      if (cid !== undefined) {
        const run = await withClient(flags, async client => await client.request<WorkflowRunJson>('workflow_status', [cid]))
        print(flags.json === true ? JSON.stringify(run) : describeRun(run))
        return
      }
      if (flags.status !== undefined && !STATUSES.includes(flags.status)) throw usageError(`--status must be one of ${STATUSES.join(', ')}, got "${flags.status}"`)
      const limit = Number(flags.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usageError(`--limit must be an integer in 1..1000, got "${flags.limit ?? ''}"`)
      const params = { limit, ...(flags.status !== undefined ? { status: flags.status } : {}), ...(flags.cursor !== undefined ? { cursor: flags.cursor } : {}) }
      const page = await withClient(flags, async client => await client.request<WorkflowPageJson>('workflow_list', params))
      if (flags.json === true) {
        print(JSON.stringify(page))
        return
      }
      print(runTable(page.runs))
      if (page.cursor !== undefined) print(`more: ipvm status --cursor ${page.cursor}`)
    })
}

/** The lines of `ipvm status CID`. */
export function describeRun (run: WorkflowRunJson): string {
  const lines = [
    `workflow  ${run.workflow['/']}`,
    `name      ${run.name}`,
    `status    ${run.status}`,
    `progress  ${progressText(run)} tasks done`
  ]
  if (run.tasks !== undefined) lines.push(`tasks     ${run.tasks.executed} executed, ${run.tasks.replayed} replayed, ${run.tasks.failed} failed, ${run.tasks.skipped} skipped`)
  lines.push(`retries   ${run.retries}`, `restarts  ${run.restarts}`, `created   ${iso(run.created_at)}`, `updated   ${iso(run.updated_at)}`)
  if (run.wake_at !== undefined) lines.push(`wakes     ${iso(run.wake_at)}`)
  if (run.error !== undefined) lines.push(`error     ${run.error.message} [${run.error.code}]`)
  return lines.join('\n')
}

function runTable (runs: WorkflowRunJson[]): string {
  if (runs.length === 0) return '(no workflow runs)'
  const rows = [['STATUS', 'PROGRESS', 'UPDATED', 'WORKFLOW', 'NAME'], ...runs.map(r => [
    r.status, progressText(r), iso(r.updated_at), r.workflow['/'], r.name === r.workflow['/'] ? '' : r.name
  ])]
  const widths = rows[0].map((_c, i) => Math.max(...rows.map(row => row[i].length)))
  return rows.map(row => row.map((c, i) => i === row.length - 1 ? c : c.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

/**
 * Tasks done of all: the live counts while the node has the run loaded; else the stored receipt
 * count, which also holds the error receipts of earlier runs of the same workflow, so it is
 * capped at the task count (and a completed run has done them all).
 */
export function progressText (run: WorkflowRunJson): string {
  const total = run.progress.tasks
  if (run.tasks !== undefined) return `${run.tasks.executed + run.tasks.replayed + run.tasks.failed + run.tasks.skipped}/${run.tasks.total}`
  return `${run.status === 'completed' ? total : Math.min(run.progress.receipts, total)}/${total}`
}

function iso (ms: number): string {
  return new Date(ms).toISOString()
}
