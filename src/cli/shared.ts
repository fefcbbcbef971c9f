import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { IpvmClient, RpcClientError } from '../client/index.js'
import { loadConfig, type IpvmConfig, type PartialConfig } from '../config/index.js'
import type { PortsFile } from '../node/index.js'
import { CliError, CliErrorCode, ExitCode, usageError } from './errors.js'
import { hintFor } from './hints.js'

export { CliError } from './errors.js'

export const DEFAULT_RPC_PORT = 1337

export interface ConfigFlags { config?: string, data?: string }

/** Options shared by commands that read the settings. */
export function withConfigOptions (cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'TOML settings file (default: <data>/config.toml when it exists)')
    .option('-d, --data <dir>', 'data folder (default: .ipvm, or node.data_dir)')
}

/** Settings as `ipvm start` sees them: defaults < TOML < environment < flags. */
export function resolveConfig (flags: ConfigFlags, extra: PartialConfig = {}): IpvmConfig {
  const fromFlags: PartialConfig = { ...extra, node: { ...(extra.node ?? {}), ...(flags.data !== undefined ? { data_dir: flags.data } : {}) } }
  let file = flags.config
  if (file === undefined) {
    const envData = process.env.IPVM_NODE__DATA_DIR
    const dataDir = flags.data ?? (envData !== undefined && envData !== '' ? envData : '.ipvm')
    const candidate = join(dataDir, 'config.toml')
    if (existsSync(candidate)) file = candidate
  }
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env, flags: fromFlags })
}

/** Whether a process with this pid exists (one of another user counts: signalling it is refused, not unknown). */
export function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readPortsFile (dataDir: string): PortsFile | undefined {
  const file = join(resolve(dataDir), 'ports.json')
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PortsFile
  } catch {
    return undefined
  }
}

export interface ClientFlags { host?: string, port?: string, token?: string, json?: boolean, data?: string }

/** `--host`, `--port`, `--token`, `--json`, `--data` for commands that talk to a running node. */
export function withClientOptions (cmd: Command): Command {
  return cmd
    .option('--host <host>', 'node RPC host (default 127.0.0.1)')
    .option('-p, --port <port>', `node RPC port (default: the running node's port from <data>/ports.json, else ${DEFAULT_RPC_PORT})`)
    .addOption(new Option('--token <token>', 'bearer token, when the node has rpc.auth_token').env('IPVM_RPC__AUTH_TOKEN'))
    .option('-d, --data <dir>', 'data folder of a local node, to find its port', '.ipvm')
    .option('--json', 'machine-readable output (errors too)')
}

export function clientUrl (flags: ClientFlags): string {
  let port = flags.port
  if (port === undefined) {
    const ports = readPortsFile(flags.data ?? '.ipvm')
    port = String(ports?.rpc.port ?? process.env.IPVM_RPC__PORT ?? DEFAULT_RPC_PORT)
  }
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw usageError(`--port must be a port number (0-65535), got "${port}"`)
  const host = flags.host ?? '127.0.0.1'
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** Connects to the node at `url`; a failure is a one-line `CliError` with a hint. */
export async function connectClient (url: string, token: string | undefined): Promise<IpvmClient> {
  try {
    return await IpvmClient.connect(url, { ...(token !== undefined && token !== '' ? { token } : {}) })
  } catch (err) {
    throw connectError(url, err, token)
  }
}

function connectError (url: string, err: unknown, token: string | undefined): CliError {
  if (err instanceof RpcClientError && err.code === -32006) {
    return new CliError(CliErrorCode.UNAUTHORIZED, `the node at ${url} refused the connection: HTTP 401`, {
      hint: token === undefined || token === '' ? 'it requires a token: pass --token TOKEN (or set IPVM_RPC__AUTH_TOKEN)' : 'the token is not the node\'s rpc.auth_token'
    })
  }
  const code = (err as NodeJS.ErrnoException).code
  const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ETIMEDOUT' || /timeout/i.test((err as Error).message) ? 'no answer in time' : (err as Error).message
  return new CliError(CliErrorCode.NODE_UNREACHABLE, `cannot reach a node at ${url}: ${why}`, {
    exitCode: ExitCode.UNREACHABLE,
    hint: 'start one with `ipvm start`, or give its address with --port (and --host)'
  })
}

/** Connects, runs `fn`, closes; turns connection and RPC failures into one-line errors. */
export async function withClient<T> (flags: ClientFlags, fn: (client: IpvmClient) => Promise<T>): Promise<T> {
  const client = await connectClient(clientUrl(flags), flags.token)
  try {
    return await fn(client)
  } catch (err) {
    throw asCliError(err)
  } finally {
    await client.close()
  }
}

/** A node's RPC error or a lost connection as a `CliError`; anything else unchanged. */
export function asCliError (err: unknown): unknown {
  if (err instanceof RpcClientError) {
    const code = err.nodeCode ?? (err.code === -32006 ? CliErrorCode.UNAUTHORIZED : `RPC_${err.code}`)
    const extra = detail(err.data)
    const message = extra === '' || err.message.includes(extra) ? err.message : `${err.message}: ${extra}`
    const hint = hintFor(code)
    return new CliError(code, message, hint !== undefined ? { hint } : {})
  }
  const message = (err as Error | undefined)?.message ?? ''
  if (/connection (is )?closed|subscription ended/.test(message)) {
    return new CliError(CliErrorCode.NODE_LOST, 'the node closed the connection (it stopped or crashed)', { exitCode: ExitCode.UNREACHABLE, hint: 'see whether it runs with `ipvm health`' })
  }
  if (/^no response to /.test(message)) {
    return new CliError(CliErrorCode.NODE_LOST, `the node did not answer: ${message}`, { exitCode: ExitCode.UNREACHABLE, hint: 'the node may be overloaded or stuck; see `ipvm health`' })
  }
  return err
}

function detail (data: unknown): string {
  const d = data as { message?: unknown, issues?: unknown } | undefined
  if (Array.isArray(d?.issues) && d.issues.length > 0) {
    return (d.issues as Array<{ path?: string, message?: string }>).slice(0, 3).map(i => `${i.path ?? ''} ${i.message ?? ''}`.trim()).join('; ')
  }
  return typeof d?.message === 'string' ? d.message : ''
}

/** Collects a repeatable option into a list. */
export function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export function print (text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}
