import { Command } from 'commander'
import { print, withClient, withClientOptions, type ClientFlags } from '../shared.js'

export function healthCommand (): Command {
  return withClientOptions(new Command('health'))
    .description('ask a running node whether it is healthy (exit 0 when it is)')
    .action(async (flags: ClientFlags) => {
      const result = await withClient(flags, async client => await client.health())
      print(flags.json === true ? JSON.stringify(result) : result.starting !== undefined ? `healthy (still starting: ${result.starting.join(', ')})` : 'healthy')
    })
}
