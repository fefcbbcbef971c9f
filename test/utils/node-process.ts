import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { CLI_ENTRY } from './cli.js'
import { readPortsOf } from './ports.js'
import { waitUntil } from './wait.js'

/** An `ipvm start` child process. */
export interface NodeProcess {
  child: ChildProcess
  port: number
  /** Everything it wrote on stderr so far (its JSON log lines). */
  stderr: () => string
  /** Resolves when it has exited. */
  exited: Promise<unknown>
}

/**
 * `ipvm start` on `dir` as a child process (network off, ports picked by the system);
 * resolves once it has written its own ports.json. `children` collects it, for the caller's
 * clean-up to kill whatever is left.
 */
export async function startNodeProcess (dir: string, children: ChildProcess[], env: Record<string, string> = {}): Promise<NodeProcess> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'start', '--data', dir, '--rpc-port', '0', '--metrics-port', '0', '--log-level', 'info'],
    { env: { ...process.env, IPVM_NETWORK__ENABLE: 'false', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr.on('data', d => { stderr += String(d) })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const portsFile = join(dir, 'ports.json')
  // a killed node leaves its ports.json behind: wait for this process's own
  const ports = await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`node exited early: ${stderr}`)
    return readPortsOf(portsFile, child.pid)
  }, 30_000)
  return { child, port: ports.rpc.port, stderr: () => stderr, exited }
}

/** Stops a node process with `signal` and waits until it has exited. */
export async function stopNodeProcess (p: NodeProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal)
  await p.exited
}
