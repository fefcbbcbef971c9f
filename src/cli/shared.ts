import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { IpvmClient, RpcClientError } from '../client/index.js'
import { loadConfig, type IpvmConfig, type PartialConfig } from '../config/index.js'
import type { PortsFile } from '../node/index.js'

export const DEFAULT_RPC_PORT = 1337

/** A failure a command reports to the user and exits with; no stack trace. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

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
    .option('--host <host>', 'node RPC host', '127.0.0.1')
    .option('-p, --port <port>', `node RPC port (default: the running node's port from <data>/ports.json, else ${DEFAULT_RPC_PORT})`)
    .addOption(new Option('--token <token>', 'bearer token, when the node has rpc.auth_token').env('IPVM_RPC__AUTH_TOKEN'))
    .option('-d, --data <dir>', 'data folder of a local node, to find its port', '.ipvm')
    .option('--json', 'machine-readable output')
}

export function clientUrl (flags: ClientFlags): string {
  let port = flags.port
  if (port === undefined) {
    const ports = readPortsFile(flags.data ?? '.ipvm')
    port = String(ports?.rpc.port ?? process.env.IPVM_RPC__PORT ?? DEFAULT_RPC_PORT)
  }
  if (!/^\d+$/.test(port)) throw new CliError(`--port must be a number, got "${port}"`)
  const host = flags.host ?? '127.0.0.1'
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** Connects, runs `fn`, closes; turns connection and RPC failures into readable errors. */
export async function withClient<T> (flags: ClientFlags, fn: (client: IpvmClient) => Promise<T>): Promise<T> {
  const url = clientUrl(flags)
  let client: IpvmClient
  try {
    client = await IpvmClient.connect(url, { ...(flags.token !== undefined ? { token: flags.token } : {}) })
  } catch (err) {
    throw new CliError(`cannot reach a node at ${url}: ${(err as Error).message}`)
  }
  try {
    return await fn(client)
  } catch (err) {
    if (err instanceof RpcClientError) throw new CliError(`${err.message}${err.nodeCode !== undefined ? ` [${err.nodeCode}]` : ''}${detail(err.data)}`)
    throw err
  } finally {
    await client.close()
  }
}

function detail (data: unknown): string {
  const d = data as { message?: unknown } | undefined
  return typeof d?.message === 'string' ? `: ${d.message}` : ''
}

/** Collects a repeatable option into a list. */
export function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export function print (text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}
