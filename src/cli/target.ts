import { resolve } from 'node:path'
import type { IpvmNode } from '../node/index.js'
import { isIpvmError } from '../util/errors.js'
import { createLogger } from '../util/logger.js'
import { CliError, CliErrorCode, ExitCode } from './errors.js'
import { clientUrl, processAlive, readPortsFile, resolveConfig, type ClientFlags } from './shared.js'

/** The node a command talks to: a running one, or one this process started on the data folder. */
export interface Target {
  /** `ws://host:port` */
  url: string
  token?: string
  /** Set when this process started the node; stop it when done. */
  embedded?: IpvmNode
}

export interface TargetFlags extends ClientFlags { config?: string, network?: boolean, logLevel?: string }

/** How long a running node has to answer one `GET /health`. */
const PROBE_TIMEOUT_MS = 2000
/** How long probes are repeated while the process named by ports.json is alive. */
const BUSY_NODE_WAIT_MS = 15_000

/**
 * Which node `ipvm run` uses:
 * 1. `--port` (or `--host`) given: that node, and only that one;
 * 2. `<data>/ports.json` names a node that answers on its RPC port: that node;
 * 3. else a node started in this process on the data folder, on a free loopback port, with the
 *    network and the metrics server off (`--network` turns the network on); it stops at the end.
 */
export async function findOrStartNode (flags: TargetFlags): Promise<Target> {
  const token = flags.token
  if (flags.port !== undefined || flags.host !== undefined) return { url: clientUrl(flags), ...(token !== undefined ? { token } : {}) }
  const config = resolveConfig({ ...(flags.config !== undefined ? { config: flags.config } : {}), ...(flags.data !== undefined ? { data: flags.data } : {}) })
  const ports = readPortsFile(config.node.data_dir)
  if (ports !== undefined) {
    const url = clientUrl({ ...flags, port: String(ports.rpc.port), host: connectHost(ports.rpc.host) })
    // a node whose process lives gets longer to answer (a loaded machine) than a stale ports.json
    const deadline = Date.now() + (processAlive(ports.pid) ? BUSY_NODE_WAIT_MS : 0)
    do {
      if (await answers(url)) return { url, ...(token !== undefined ? { token } : {}) }
    } while (Date.now() < deadline && processAlive(ports.pid))
  }
  return await startEmbedded(flags)
}

async function startEmbedded (flags: TargetFlags): Promise<Target> {
  const config = resolveConfig({ ...(flags.config !== undefined ? { config: flags.config } : {}), ...(flags.data !== undefined ? { data: flags.data } : {}) }, {
    rpc: { host: '127.0.0.1', port: 0 },
    metrics: { enable: false },
    network: { enable: flags.network === true },
    ...(flags.logLevel !== undefined ? { node: { log_level: flags.logLevel as never } } : {})
  })
  const level = flags.logLevel !== undefined ? config.node.log_level : 'warn'
  const { IpvmNode } = await import('../node/index.js')
  const node = new IpvmNode({ config, logger: createLogger({ level }) })
  try {
    await node.start()
  } catch (err) {
    if (isIpvmError(err) && err.code === 'STORE_LOCKED') {
      throw new CliError(CliErrorCode.DATA_DIR_BUSY, `the data folder ${resolve(config.node.data_dir)} is in use by another process, and no node answers for it`, {
        exitCode: ExitCode.UNREACHABLE,
        hint: 'wait for that process to end, or pass another --data DIR (or --port of a running node)'
      })
    }
    throw err
  }
  const token = config.rpc.auth_token !== '' ? config.rpc.auth_token : undefined
  return { url: node.rpcUrl, embedded: node, ...(token !== undefined ? { token } : {}) }
}

/** A node listening on 0.0.0.0 or :: is reached on loopback. */
function connectHost (host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
}

/** True when something answers `GET /health` like a node (200, 503, or 401 for a node with a token). */
async function answers (wsUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${wsUrl.replace(/^ws:/, 'http:')}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
    await res.body?.cancel()
    return res.status === 200 || res.status === 503 || res.status === 401
  } catch {
    return false
  }
}

/** Adds local files through the node's `POST /add`; resolves to their CIDs. */
export async function addFiles (target: Target, files: Array<{ path: string }>): Promise<string[]> {
  const { readFile } = await import('node:fs/promises')
  const out: string[] = []
  for (const f of files) {
    const res = await fetch(`${target.url.replace(/^ws:/, 'http:')}/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...(target.token !== undefined ? { authorization: `Bearer ${target.token}` } : {}) },
      body: await readFile(f.path)
    })
    const body = await res.json().catch(() => ({})) as { cid?: string, error?: { message?: string } }
    if (res.status === 401) throw new CliError(CliErrorCode.UNAUTHORIZED, `the node refused ${f.path}: HTTP 401`, { hint: 'pass --token TOKEN (or set IPVM_RPC__AUTH_TOKEN)' })
    if (!res.ok || body.cid === undefined) throw new CliError(CliErrorCode.UNEXPECTED, `the node refused ${f.path}: ${body.error?.message ?? `HTTP ${res.status}`}`)
    out.push(body.cid)
  }
  return out
}
