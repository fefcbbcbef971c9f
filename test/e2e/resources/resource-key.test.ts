import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importFile } from '../../../src/store/index.js'
import { ResourceResolver } from '../../../src/resources/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { createTestStore } from '../../utils/store.js'

const sha256Key = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

describe('fetchResource keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipvm-resource-key-'))
  let store: Awaited<ReturnType<typeof createTestStore>>
  let server: Server
  let base: string
  let served = 'first'
  let resolver: ResourceResolver

  beforeAll(async () => {
    store = await createTestStore()
    server = createServer((req, res) => {
      if (req.url === '/wasm') res.end(served)
      else res.writeHead(404).end('no')
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    base = `http://127.0.0.1:${port}`
    resolver = new ResourceResolver({ allowFileRoots: [dir], allowHttpHosts: [`127.0.0.1:${port}`] }, { store: store.store, logger: silentLogger() })
  })
  afterAll(async () => {
    await new Promise(resolve => server.close(resolve))
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is the URL itself for ipfs:// and gateway URLs', async () => {
    const cid = await importFile(store.store.blocks, Buffer.from('by cid'))
    for (const url of [`ipfs://${cid.toString()}`, `${base}/ipfs/${cid.toString()}`]) {
      const { bytes, key } = await resolver.fetchResource(url)
      expect(text(bytes), url).toBe('by cid')
      expect(key, url).toBe(url)
    }
  })

  it('is the SHA-256 of the bytes for file:// URLs, and changes with them', async () => {
    const file = join(dir, 'a.wasm')
    const url = pathToFileURL(file).href
    writeFileSync(file, 'first')
    const first = await resolver.fetchResource(url)
    expect(text(first.bytes)).toBe('first')
    expect(first.key).toBe(sha256Key('first'))
    writeFileSync(file, 'second')
    const second = await resolver.fetchResource(url)
    expect(text(second.bytes)).toBe('second')
    expect(second.key).toBe(sha256Key('second'))
  })

  it('is the SHA-256 of the bytes for http(s):// URLs: the same bytes have the same key wherever they come from', async () => {
    served = 'first'
    const first = await resolver.fetchResource(`${base}/wasm`)
    expect(first.key).toBe(sha256Key('first'))
    writeFileSync(join(dir, 'b.wasm'), 'first')
    expect((await resolver.fetchResource(pathToFileURL(join(dir, 'b.wasm')).href)).key).toBe(first.key)
    served = 'second'
    expect((await resolver.fetchResource(`${base}/wasm`)).key).toBe(sha256Key('second'))
  })

  it('fails as fetch does', async () => {
    await expect(resolver.fetchResource(pathToFileURL(join(tmpdir(), 'elsewhere.wasm')).href)).rejects.toMatchObject({ code: 'RESOURCE_FORBIDDEN' })
    await expect(resolver.fetchResource('not a url')).rejects.toMatchObject({ code: 'RESOURCE_URL_INVALID' })
  })
})
