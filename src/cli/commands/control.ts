import { Command } from 'commander'
import { print, withClient, withClientOptions, type ClientFlags } from '../shared.js'
import { progressText } from './status.js'
import type { WorkflowRunJson } from '../../client/index.js'

const ACTIONS = {
  cancel: 'cancel a workflow run: tasks in progress are stopped, no other task starts',
  pause: 'pause a workflow run: tasks in progress finish, no task starts until it is resumed',
  resume: 'resume a paused workflow run'
} as const

/** `ipvm cancel CID`, `ipvm pause CID`, `ipvm resume CID`. */
export function controlCommands (): Command[] {
  return (Object.keys(ACTIONS) as Array<keyof typeof ACTIONS>).map(action => withClientOptions(new Command(action))
    .description(ACTIONS[action])
    .argument('<cid>', 'workflow CID')
    .action(async (cid: string, flags: ClientFlags) => {
      const run = await withClient(flags, async client => await client.request<WorkflowRunJson>(`workflow_${action}`, [cid]))
      print(flags.json === true ? JSON.stringify(run) : `${run.status}  ${run.workflow['/']}${run.name === run.workflow['/'] ? '' : `  (${run.name})`}  ${progressText(run)} tasks done`)
    }))
}
