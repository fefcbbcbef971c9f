import { Command } from 'commander'
import { print, withClient, withClientOptions, type ClientFlags } from '../shared.js'

export function nodeCommand (): Command {
  return withClientOptions(new Command('node'))
    .description('show a running node\'s peer id, listen addresses and connected peers')
    .action(async (flags: ClientFlags) => {
      const info = await withClient(flags, async client => await client.node())
      if (flags.json === true) {
        print(JSON.stringify(info))
        return
      }
      const peers = Object.entries(info.dynamic.connections)
      print([
        `peer id      ${info.static.peer_id}`,
        `listeners    ${info.dynamic.listeners.length === 0 ? '(none)' : info.dynamic.listeners.join('\n             ')}`,
        `connections  ${peers.length === 0 ? '(none)' : peers.map(([id, addr]) => `${id} ${addr}`).join('\n             ')}`
      ].join('\n'))
    })
}
