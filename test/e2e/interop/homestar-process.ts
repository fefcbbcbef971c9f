import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import WebSocket from 'ws'
import { catFile, type BlockStore } from '../../../src/store/index.js'
import { DAG_CBOR, sha3Cid } from '../../utils/store.js'
import { waitUntil } from '../../utils/wait.js'
import { frameText } from '../../utils/ws.js'

/** The Homestar release these tests start (the npm package `homestar-linux-x64`). */
export const HOMESTAR_VERSION = '0.3.0'

/**
 * Where the Homestar binary is, or why it cannot run here: it is built for linux-x64 only,
 * the package may be missing (an install without dev dependencies), or the binary may not run
 * (another libc, no execute permission).
 */
export function homestarBinary (): { path: string } | { reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `Homestar's npm binary is built for linux-x64, this is ${process.platform}-${process.arch}` }
  let path: string
  try {
    path = join(dirname(createRequire(import.meta.url).resolve('homestar-linux-x64/package.json')), 'bin', 'homestar')
  } catch {
    return { reason: 'the package homestar-linux-x64 is not installed (Linux x64: npm run interop:homestar)' }
  }
  if (!existsSync(path)) return { reason: `${path} is missing` }
  const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  const said = `${version.stdout ?? ''}`.trim()
  if (version.status !== 0 || said !== `homestar ${HOMESTAR_VERSION}`) {
    return { reason: `${path} --version did not print "homestar ${HOMESTAR_VERSION}" (${version.error?.message ?? (said || `${version.stderr ?? ''}`.trim() || `exit ${version.status}`)})` }
  }
  return { path }
}

/** A free TCP port on 127.0.0.1 (for a program that takes a port number, not 0). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/**
 * A stand-in for the Kubo HTTP API Homestar fetches Wasm from and copies its receipts to, with
 * just the two endpoints Homestar 0.3.0 calls: `POST /api/v0/cat?arg=<cid>` (the file's bytes,
 * read from `blocks`) and `POST /api/v0/dag/put?store-codec=dag-cbor&input-codec=dag-cbor&hash=sha3-256`
 * (a multipart body holding one DAG-CBOR block; answers its CID as Kubo does). Every request is
 * logged; anything else gets 404.
 */
export class FakeKubo {
  readonly requests: Array<{ method: string, path: string, arg?: string }> = []
  /** The CIDs of the blocks Homestar put (`dag/put`), in order. */
  readonly dagPuts: string[] = []
  private readonly server: Server
  private listening = 0

  private constructor (private readonly blocks: BlockStore) {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ Message: err.message, Code: 0, Type: 'error' }))
      })
    })
  }

  /** Serves the files in `blocks` on 127.0.0.1, on a free port. */
  static async start (blocks: BlockStore): Promise<FakeKubo> {
    const kubo = new FakeKubo(blocks)
    await new Promise<void>(resolve => kubo.server.listen(0, '127.0.0.1', resolve))
    kubo.listening = (kubo.server.address() as AddressInfo).port
    return kubo
  }

  get port (): number { return this.listening }

  /** How many requests went to an endpoint (`cat`, `dag/put`). */
  count (endpoint: string): number {
    return this.requests.filter(r => r.path === `/api/v0/${endpoint}`).length
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise(resolve => this.server.close(resolve))
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const arg = url.searchParams.get('arg') ?? undefined
    this.requests.push({ method: req.method ?? '', path: url.pathname, ...(arg !== undefined ? { arg } : {}) })
    if (req.method === 'POST' && url.pathname === '/api/v0/cat' && arg !== undefined) {
      const bytes = await catFile(this.blocks, CID.parse(arg.replace(/^\/ipfs\//, '')))
      res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.from(bytes))
      return
    }
    if (req.method === 'POST' && url.pathname === '/api/v0/dag/put') {
      const block = onlyPart(Buffer.concat(chunks), req.headers['content-type'] ?? '')
      const cid = sha3Cid(DAG_CBOR, block).toString()
      this.dagPuts.push(cid)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Cid: { '/': cid } }))
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found')
  }
}

/** An Ed25519 key in the PKCS#8 PEM Homestar reads, and the peer id it gives. */
export interface HomestarKey {
  pem: string
  peerId: string
}

/** A fresh key, so that a Homestar node's peer id is known before it starts. */
export async function homestarKey (): Promise<HomestarKey> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const der = privateKey.export({ type: 'pkcs8', format: 'der' })
  // a PKCS#8 Ed25519 key ends with its 32-byte seed, which gives the libp2p key and so the peer id
  const peerId = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', der.subarray(der.length - 32))).toString()
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), peerId }
}

/**
 * The content of the one part of a `multipart/form-data` body. Homestar's part has no file name,
 * so the platform's FormData would hand it over as text (and mangle the CBOR): the bytes
 * between the part's headers and the closing delimiter are taken as they are.
 */
function onlyPart (body: Buffer, contentType: string): Uint8Array {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1]
  if (boundary === undefined) throw new Error(`not a multipart body: ${contentType}`)
  const open = body.indexOf(`--${boundary}\r\n`)
  const start = body.indexOf('\r\n\r\n', open)
  const end = body.indexOf(`\r\n--${boundary}`, start)
  if (open !== 0 || start < 0 || end < 0) throw new Error('a multipart body without one complete part')
  return new Uint8Array(body.subarray(start + 4, end))
}

export interface HomestarStartOptions {
  binary: string
  /** Its key. @default a fresh one */
  key?: HomestarKey
  /** Port of the Kubo HTTP API (a `FakeKubo`). */
  kuboPort: number
  /** Peers Homestar dials at start and keeps (multiaddrs with `/p2p/<id>`). */
  nodeAddresses?: string[]
  /** `network.libp2p.pubsub.enable`. @default true */
  pubsub?: boolean
  /** How long to wait for it to answer `/health`. @default 20000 */
  startTimeoutMs?: number
}

/** A decoded Homestar notification: `{"<event>": {...}}` for network events, a receipt notification for runs. */
export type HomestarNotification = Record<string, any>

/**
 * A Homestar node started as a child process in its own temp folder (settings, key, SQLite
 * database): loopback only, mDNS, rendezvous and QUIC off, the gossip heartbeat at 1 s (60 s
 * by default) so that its mesh takes a new peer in promptly. Its peer id is known before it
 * starts (a generated Ed25519 key). Its log lines (ANSI colours stripped) are kept, the last
 * 400, to show when a test fails.
 */
export class HomestarProcess {
  readonly logs: string[] = []
  private exited?: string
  private socket?: HomestarSocket

  private constructor (readonly child: ChildProcess, readonly dir: string, readonly peerId: string, readonly webPort: number) {
    let partial = ''
    const take = (data: Buffer): void => {
      const lines = (partial + data.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) this.logs.push(stripVTControlCharacters(line))
      if (this.logs.length > 400) this.logs.splice(0, this.logs.length - 400)
    }
    child.stdout?.on('data', take)
    child.stderr?.on('data', take)
    child.once('exit', (code, signal) => {
      this.exited = `exited with ${signal ?? code}`
      process.off('exit', this.killOnExit)
    })
    // a test process that ends without stop() does not leave Homestar running
    process.once('exit', this.killOnExit)
  }

  private readonly killOnExit = (): void => { this.child.kill('SIGKILL') }

  static async start (options: HomestarStartOptions): Promise<HomestarProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'ipvm-homestar-'))
    try {
      const { pem, peerId } = options.key ?? await homestarKey()
      writeFileSync(join(dir, 'key.pem'), pem)
      const webPort = await freePort()
      writeFileSync(join(dir, 'settings.toml'), settingsToml(dir, webPort, options))
      const child = spawn(options.binary, ['start', '-c', join(dir, 'settings.toml'), '--db', join(dir, 'homestar.db')], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: dir, RUST_LOG: 'info' },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      const hs = new HomestarProcess(child, dir, peerId, webPort)
      try {
        await waitUntil(async () => {
          if (hs.exited !== undefined) throw new Error(`homestar ${hs.exited}:\n${hs.logs.slice(-20).join('\n')}`)
          return await fetch(`${hs.httpUrl}/health`).then(r => r.ok, () => false)
        }, options.startTimeoutMs ?? 20_000, 'Homestar to answer /health', 50)
      } catch (err) {
        await hs.stop()
        throw err
      }
      if ((await hs.node()).static.peer_id !== peerId) {
        await hs.stop()
        throw new Error(`Homestar's peer id is not the one its key gives (${peerId})`)
      }
      return hs
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  get httpUrl (): string { return `http://127.0.0.1:${this.webPort}` }
  get wsUrl (): string { return `ws://127.0.0.1:${this.webPort}` }

  /** A WebSocket JSON-RPC connection to it, opened once. */
  async rpc (): Promise<HomestarSocket> {
    this.socket ??= await HomestarSocket.open(this.wsUrl)
    return this.socket
  }

  /** Its `node` answer: listen addresses and connected peers. */
  async node (): Promise<{ static: { peer_id: string }, dynamic: { listeners: string[], connections: Record<string, string> } }> {
    return await (await this.rpc()).request('node')
  }

  /** The last `n` lines it logged. */
  logTail (n = 60): string {
    return this.logs.slice(-n).join('\n')
  }

  /** SIGTERM (Homestar shuts down gracefully in milliseconds), SIGKILL if it is still there after 5 s; removes its folder. */
  async stop (): Promise<void> {
    this.socket?.close()
    if (this.exited === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise(resolve => this.child.once('exit', resolve))
      this.child.kill('SIGTERM')
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
      await gone
      clearTimeout(timer)
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function settingsToml (dir: string, webPort: number, options: HomestarStartOptions): string {
  const list = (items: string[]): string => `[${items.map(s => JSON.stringify(s)).join(', ')}]`
  return `[node]

[node.network]

[node.network.keypair_config.existing]
key_type = "ed25519"
path = ${JSON.stringify(join(dir, 'key.pem'))}

[node.network.libp2p]
listen_address = "/ip4/127.0.0.1/tcp/0"
node_addresses = ${list(options.nodeAddresses ?? [])}

[node.network.libp2p.mdns]
enable = false

[node.network.libp2p.rendezvous]
enable_client = false

[node.network.libp2p.quic]
enable = false

[node.network.libp2p.pubsub]
enable = ${options.pubsub ?? true}
heartbeat = 1

[node.network.ipfs]
host = "127.0.0.1"
port = ${options.kuboPort}

[node.network.metrics]
port = 0

[node.network.rpc]
host = "127.0.0.1"
port = 0

[node.network.webserver]
v4_host = "127.0.0.1"
port = ${webPort}
`
}

/**
 * JSON-RPC 2.0 over Homestar's WebSocket: requests, and subscriptions whose notifications
 * carry their payload as an array of the bytes of a JSON text, decoded here.
 */
export class HomestarSocket {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (value: any) => void, reject: (err: Error) => void }>()
  private readonly listeners = new Map<string, (value: HomestarNotification) => void>()
  /** Notifications for a subscription whose id has not been handed out yet. */
  private readonly early = new Map<string, HomestarNotification[]>()

  private constructor (private readonly ws: WebSocket) {
    ws.on('message', data => { this.receive(JSON.parse(frameText(data))) })
    ws.on('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('Homestar closed the WebSocket'))
      this.pending.clear()
    })
  }

  static async open (url: string): Promise<HomestarSocket> {
    const ws = new WebSocket(url)
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return new HomestarSocket(ws)
  }

  async request<T = any> (method: string, params?: unknown, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++
    const answer = new Promise<T>((resolve, reject) => { this.pending.set(id, { resolve, reject }) })
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }))
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`Homestar did not answer ${method} within ${timeoutMs} ms`))
      }, timeoutMs)
    })
    return await Promise.race([answer, timeout]).finally(() => clearTimeout(timer))
  }

  /** Subscribes (`subscribe_run_workflow`, `subscribe_network_events`); `onResult` gets each decoded notification. */
  async subscribe (method: string, params: unknown[], onResult: (value: HomestarNotification) => void): Promise<string> {
    const id = await this.request<string>(method, params)
    this.listeners.set(id, onResult)
    for (const value of this.early.get(id) ?? []) onResult(value)
    this.early.delete(id)
    return id
  }

  close (): void {
    this.ws.close()
  }

  private receive (message: any): void {
    if (typeof message?.id === 'number' && this.pending.has(message.id)) {
      const { resolve, reject } = this.pending.get(message.id)!
      this.pending.delete(message.id)
      if (message.error !== undefined) reject(new Error(`Homestar answered ${JSON.stringify(message.error)}`))
      else resolve(message.result)
      return
    }
    const sub = message?.params?.subscription
    const result = message?.params?.result
    if (typeof sub !== 'string' || result === undefined) return
    const value = JSON.parse(Array.isArray(result) ? Buffer.from(result as number[]).toString() : JSON.stringify(result)) as HomestarNotification
    const listener = this.listeners.get(sub)
    if (listener !== undefined) listener(value)
    else this.early.set(sub, [...(this.early.get(sub) ?? []), value])
  }
}
