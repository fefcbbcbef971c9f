import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Startable } from '../util/lifecycle.js'
import { silentLogger, type Logger } from '../util/logger.js'
import { errorMessage } from '../util/errors.js'
import { withDefaults } from '../util/options.js'
import { MetricsError, MetricsErrorCode } from './errors.js'
import { defaultMetricsServerOptions, type MetricsServerOptions } from './options.js'

export interface MetricsServerComponents {
  /** The registry to expose. */
  registry: Registry
  /** @default a silent logger */
  logger?: Logger
}

/** The path Prometheus scrapes. */
export const METRICS_PATH = '/metrics'

/**
 * Serves the registry in the Prometheus text format at `GET /metrics`; any other path is
 * 404 and any other method on `/metrics` is 405. Sockets have Nagle's algorithm off.
 */
export class MetricsServer implements Startable {
  private readonly host: string
  private readonly requestedPort: number
  private readonly registry: Registry
  private readonly logger: Logger
  private server: Server | undefined
  private boundPort: number | undefined

  constructor (options: MetricsServerOptions, components: MetricsServerComponents) {
    const opts = withDefaults(defaultMetricsServerOptions, options)
    this.host = opts.host
    this.requestedPort = opts.port
    this.registry = components.registry
    this.logger = (components.logger ?? silentLogger()).child({ module: 'metrics' })
  }

  /** The port listened on (the chosen one when the option was 0). Throws `METRICS_NOT_STARTED` when not listening. */
  get port (): number {
    if (this.boundPort === undefined) {
      throw new MetricsError(MetricsErrorCode.NOT_STARTED, 'the metrics server is not listening')
    }
    return this.boundPort
  }

  /** Whether `start()` has completed and `stop()` has not been called since. */
  get listening (): boolean {
    return this.boundPort !== undefined
  }

  /** Listens on host:port. Resolves once bound; rejects with `METRICS_LISTEN_FAILED`. Does nothing when already started. */
  async start (): Promise<void> {
    if (this.server !== undefined) return
    const server = createServer({ noDelay: true }, (req, res) => { this.handle(req, res) })
    server.on('connection', (socket) => { socket.setNoDelay(true) })
    this.server = server
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.requestedPort, this.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      this.server = undefined
      throw new MetricsError(MetricsErrorCode.LISTEN_FAILED, `cannot listen on ${this.host}:${this.requestedPort}: ${errorMessage(err)}`,
        { host: this.host, port: this.requestedPort }, { cause: err })
    }
    server.on('error', (err) => { this.logger.warn({ err }, 'metrics server error') })
    this.boundPort = (server.address() as AddressInfo).port
    this.logger.debug({ host: this.host, port: this.boundPort }, 'metrics server listening')
  }

  /** Closes the listener and every open connection. Safe to call more than once. */
  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    this.boundPort = undefined
    await new Promise<void>((resolve) => {
      server.close(() => { resolve() })
      server.closeAllConnections()
    })
    this.logger.debug({}, 'metrics server stopped')
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (path !== METRICS_PATH) {
      reply(res, 404, 'not found\n')
      return
    }
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET')
      reply(res, 405, 'method not allowed\n')
      return
    }
    this.registry.metrics().then((text) => {
      res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Cache-Control': 'no-store' })
      res.end(text)
    }, (err: unknown) => {
      this.logger.warn({ err: errorMessage(err) }, 'metrics scrape failed')
      reply(res, 500, 'metrics unavailable\n')
    })
  }
}

function reply (res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end(body)
}
