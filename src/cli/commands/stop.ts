import { Command } from 'commander'
import { setTimeout as sleep } from 'node:timers/promises'
import { CliError, CliErrorCode } from '../errors.js'
import { print, processAlive, readPortsFile, resolveConfig, withConfigOptions } from '../shared.js'

const STOP_WAIT_MS = 15_000

export function stopCommand (): Command {
  return withConfigOptions(new Command('stop'))
    .description('stop the node running on a data folder (graceful, like SIGTERM), and wait until it has exited')
    .option('--json', 'machine-readable output')
    .action(async (flags: { config?: string, data?: string, json?: boolean }) => {
      const config = resolveConfig(flags)
      const ports = readPortsFile(config.node.data_dir)
      if (ports === undefined || !processAlive(ports.pid)) throw new CliError(CliErrorCode.NO_NODE, `no node is running on ${config.node.data_dir}`, { hint: 'start one with `ipvm start`; --data DIR names another data folder' })
      process.kill(ports.pid, 'SIGTERM')
      const deadline = Date.now() + STOP_WAIT_MS
      while (processAlive(ports.pid)) {
        if (Date.now() > deadline) throw new CliError(CliErrorCode.NO_NODE, `node (pid ${ports.pid}) did not stop within ${STOP_WAIT_MS / 1000} s`, { hint: `it may be stuck: kill ${ports.pid}` })
        await sleep(50)
      }
      print(flags.json === true ? JSON.stringify({ stopped: true, pid: ports.pid }) : `stopped node ${ports.peer_id} (pid ${ports.pid})`)
    })
}
