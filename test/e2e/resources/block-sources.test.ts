import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { collectRun } from '../../../src/client/index.js'
import { Store, importFile } from '../../../src/store/index.js'
import { ResourceResolver, GatewayBlockSource, KuboBlockSource, type BlockSource } from '../../../src/resources/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, tempDir } from '../../utils/node.js'
import { chain } from '../../utils/workflows.js'

/**
 * One loopback HTTP server playing both remote block sources, serving the blocks of a store
 * it owns: Kubo's `POST /api/v0/block/get?arg=<cid>` and a trustless gateway's
 * `GET /ipfs/<cid>?format=raw`. `corrupt` makes it answer with other bytes.
 */
class FakeRemote {
  readonly requests: string[] = []
  corrupt = false
  private server?: Server
  constructor (readonly blocks: Store) {}

  get url (): string { return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}` }

  async start (): Promise<void> {
    this.server = createServer((req, res) => { void this.answer(req.method ?? '', new URL(req.url ?? '/', 'http://x'), req.headers.accept, res) })
    await new Promise<void>(resolve => this.server!.listen(0, '127.0.0.1', resolve))
  }

  async stop (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>(resolve => this.server?.close(() => resolve()) ?? resolve())
  }

  private async answer (method: string, url: URL, accept: string | undefined, res: ServerResponse): Promise<void> {
    let cid: string | undefined
    if (method === 'POST' && url.pathname === '/api/v0/block/get') cid = url.searchParams.get('arg') ?? undefined
    const gateway = /^\/ipfs\/([^/]+)$/.exec(url.pathname)
    if (method === 'GET' && gateway !== null && url.searchParams.get('format') === 'raw' && accept === 'application/vnd.ipld.raw') cid = gateway[1]
    if (cid === undefined) { res.writeHead(400).end('bad request'); return }
    this.requests.push(`${method} ${cid}`)
    const bytes = await this.blocks.blocks.get(CID.parse(cid))
    if (bytes === undefined) { res.writeHead(404).end('not found'); return }
    res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(this.corrupt ? Buffer.from(bytes).reverse() : bytes)
  }
}

describe('blocks from Kubo\'s API and from a trustless gateway', () => {
  const remoteDir = tempDir('ipvm-remote-')
  const remoteStore = new Store({ dataDir: remoteDir.dir }, { logger: silentLogger() })
  const remote = new FakeRemote(remoteStore)
  let fileCid: CID
  let file: Uint8Array
  let componentCid: CID

  beforeAll(async () => {
    await remoteStore.start()
    await remote.start()
    file = new Uint8Array(randomBytes(600 * 1024)) // three 256 KiB leaves and a root
    fileCid = await importFile(remoteStore.blocks, file)
    componentCid = await importFile(remoteStore.blocks, await buildTestComponent())
  }, 60_000)
  afterAll(async () => {
    await remote.stop()
    await remoteStore.stop()
    remoteDir.remove()
  })

  async function resolverWith (source: (url: string) => BlockSource): Promise<{ resolver: ResourceResolver, store: Store, close: () => Promise<void> }> {
    const dir = tempDir()
    const store = new Store({ dataDir: dir.dir }, { logger: silentLogger() })
    await store.start()
    const resolver = new ResourceResolver({}, { store, logger: silentLogger(), sources: [source(remote.url)] })
    return { resolver, store, close: async () => { await store.stop(); dir.remove() } }
  }

  it.each([
    ['Kubo', (url: string) => new KuboBlockSource(url), 'POST'],
    ['a gateway', (url: string) => new GatewayBlockSource(url), 'GET']
  ] as Array<[string, (url: string) => BlockSource, string]>)('a file of several blocks comes from %s block by block, is checked and stored', async (_name, source, method) => {
    remote.requests.length = 0
    const { resolver, store, close } = await resolverWith(source)
    try {
      const bytes = await resolver.fetch(`ipfs://${fileCid.toString()}`)
      expect(Buffer.from(bytes).equals(Buffer.from(file))).toBe(true)
      expect(remote.requests.length).toBe(4)
      expect(remote.requests.every(r => r.startsWith(`${method} `))).toBe(true)
      expect(await store.blocks.has(fileCid)).toBe(true)
    } finally {
      await close()
    }
  })

  it('bytes that do not match the CID are refused and not stored', async () => {
    const { resolver, store, close } = await resolverWith(url => new GatewayBlockSource(url))
    remote.corrupt = true
    try {
      await expect(resolver.fetch(`ipfs://${fileCid.toString()}`)).rejects.toMatchObject({ code: 'RESOURCE_UNAVAILABLE', message: expect.stringContaining('does not match its hash') })
      expect(await store.blocks.has(fileCid)).toBe(false)
    } finally {
      remote.corrupt = false
      await close()
    }
  })

  it('a node with resources.gateway runs a workflow whose Wasm only the gateway has', async () => {
    const t = await startTestNode({ config: { resources: { gateway: remote.url }, network: { enable: false } } })
    try {
      const r = await collectRun(await t.client.runWorkflow(chain(`ipfs://${componentCid.toString()}`, 2, 1)), 30_000)
      expect(r.status.status).toBe('completed')
      expect(r.receipts.map(x => x.receipt.out)).toEqual([['ok', 2], ['ok', 3]])
      expect(remote.requests).toContain(`GET ${componentCid.toString()}`)
    } finally {
      await t.close()
    }
  }, 60_000)
})
