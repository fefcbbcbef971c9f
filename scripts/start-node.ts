// How the measure scripts start a node: `ipvm start` on a data folder and an RPC port, metrics on
// a free port, libp2p on loopback, quiet logs.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** `bin/ipvm`, as users run it (its launcher gives Node.js the memory settings). */
export const DEFAULT_ENTRY = fileURLToPath(new URL('../bin/ipvm', import.meta.url))

/** `<entry> start …`: bin/ipvm runs as a program; a `.js` entry (dist/cli/main.js) runs under this Node.js, without the launcher. */
export function startNode (entry: string, dir: string, rpcPort: number, env: Record<string, string>): ChildProcess {
  const [command, pre] = entry.endsWith('.js') ? [process.execPath, [entry]] : [entry, []]
  return spawn(command, [...pre, 'start', '--data', dir, '--rpc-port', String(rpcPort), '--metrics-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
}
