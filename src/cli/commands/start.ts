import { Command } from 'commander'
import { createServer } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import type { PartialConfig } from '../../config/index.js'
import { usageError } from '../errors.js'
import { collect, resolveConfig, withConfigOptions } from '../shared.js'

interface StartFlags {
  config?: string
  data?: string
  rpcHost?: string
  rpcPort?: string
  metricsPort?: string
  listen?: string[]
  peer?: string[]
  kuboApi?: string
  logLevel?: string
  logFormat?: string
}

export function startCommand (): Command {
  return withConfigOptions(new Command('start'))
    .description('run a node in the foreground (stop it with Ctrl-C, SIGTERM or `ipvm stop`)')
    .option('--rpc-host <host>', 'JSON-RPC host to bind (default 127.0.0.1)')
    .option('--rpc-port <port>', 'JSON-RPC port (WebSocket and HTTP); 0 picks a free one (default 1337)')
    .option('--metrics-port <port>', 'Prometheus port; 0 picks a free one (default 4000)')
    .option('--listen <multiaddr>', 'libp2p listen address (repeatable)', collect)
    .option('--peer <multiaddr>', 'peer to dial and keep connected (repeatable)', collect)
    .option('--kubo-api <url>', 'Kubo HTTP API to fetch missing ipfs:// blocks from')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--log-format <format>', 'json, pretty, or auto (pretty when stderr is a terminal; the default)')
    .action(async (flags: StartFlags) => {
      limitHeapGrowth()
      const config = resolveConfig(flags, startFlagsToConfig(flags))
      // a taken port is reported at once, before anything starts
      await assertPortFree(config.rpc.host, config.rpc.port, '--rpc-port')
      if (config.metrics.enable) await assertPortFree(config.metrics.host, config.metrics.port, '--metrics-port')
      // loaded here so that the client commands start without libp2p and the runtime
      const { IpvmNode } = await import('../../node/index.js')
      const node = new IpvmNode({ config })
      let stopping = false
      const shutdown = (signal: string): void => {
        if (stopping) return
        stopping = true
        node.logger.info({ signal }, 'stopping')
        const deadline = setTimeout(() => {
          node.logger.error({ timeout_ms: config.node.shutdown_timeout_ms }, 'graceful stop took too long; exiting')
          process.exit(1)
        }, config.node.shutdown_timeout_ms)
        deadline.unref()
        node.stop().then(() => process.exit(0), err => {
          node.logger.error({ err }, 'stop failed')
          process.exit(1)
        })
      }
      process.once('SIGINT', () => shutdown('SIGINT'))
      process.once('SIGTERM', () => shutdown('SIGTERM'))
      // JSON-RPC answers before libp2p is up: a signal may come while it starts, and then the
      // start gives way to the stop, which ends the process
      await node.start().catch(err => { if (!stopping) throw err })
    })
}

/**
 * How far V8 lets the main heap grow past what the last full GC kept, in percent. By default
 * it lets it grow to up to 4 times that on a machine with memory to spare, which on a long run
 * of tasks is mostly garbage promoted before it died: a 10 000-task fan-out peaked at 330–500
 * MiB RSS with ~60 MiB live. At 50% the heap is collected more often (a few more full GCs of
 * that size per run, each ~10 ms). Not settable in NODE_OPTIONS; a `node
 * --heap-growing-percent=N` on the command line wins.
 */
export const HEAP_GROWING_PERCENT = 50

function limitHeapGrowth (): void {
  if (process.execArgv.some(a => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}

/** Throws EADDRINUSE (or EACCES) when `host:port` cannot be listened on; port 0 always can. */
async function assertPortFree (host: string, port: number, flag: string): Promise<void> {
  if (port === 0) return
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(Object.assign(new Error(`cannot listen on ${host}:${port} (${flag}): ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`), { code: err.code }))
    })
    server.listen(port, host, () => server.close(() => resolve()))
  })
}

function port (value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError(`${flag} must be a port number (0-65535), got "${value}"`)
  return n
}

export function startFlagsToConfig (flags: StartFlags): PartialConfig {
  const out: PartialConfig = {}
  const rpcPort = port(flags.rpcPort, '--rpc-port')
  if (rpcPort !== undefined || flags.rpcHost !== undefined) out.rpc = { ...(rpcPort !== undefined ? { port: rpcPort } : {}), ...(flags.rpcHost !== undefined ? { host: flags.rpcHost } : {}) }
  const metricsPort = port(flags.metricsPort, '--metrics-port')
  if (metricsPort !== undefined) out.metrics = { port: metricsPort }
  if (flags.listen !== undefined || flags.peer !== undefined) out.network = { ...(flags.listen !== undefined ? { listen: flags.listen } : {}), ...(flags.peer !== undefined ? { peers: flags.peer } : {}) }
  if (flags.kuboApi !== undefined) out.resources = { kubo_api: flags.kuboApi }
  if (flags.logLevel !== undefined || flags.logFormat !== undefined) {
    out.node = { ...(flags.logLevel !== undefined ? { log_level: flags.logLevel as never } : {}), ...(flags.logFormat !== undefined ? { log_format: flags.logFormat as never } : {}) }
  }
  return out
}
