import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun } from '../../../src/client/index.js'
import { ResourceResolver, isContentAddressedUrl, type ResourceResolverOptions } from '../../../src/resources/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { createTestStore } from '../../utils/store.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, tempDir } from '../../utils/node.js'
import { task } from '../../utils/workflows.js'

const fileUrl = (path: string): string => pathToFileURL(path).href

async function codeOf (p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('file:// and http(s):// resources', () => {
  const tmp = tempDir('ipvm-resources-')
  const root = join(tmp.dir, 'root')
  const outside = join(tmp.dir, 'outside')
  let store: Awaited<ReturnType<typeof createTestStore>>
  let server: Server
  let base: string
  let port: number
  const resolver = (opts: ResourceResolverOptions): ResourceResolver => new ResourceResolver(opts, { store: store.store, logger: silentLogger() })

  beforeAll(async () => {
    mkdirSync(join(root, 'sub'), { recursive: true })
    mkdirSync(outside)
    writeFileSync(join(root, 'a.bin'), 'inside')
    writeFileSync(join(root, 'sub', 'b.bin'), 'deeper')
    writeFileSync(join(outside, 'secret.txt'), 'secret')
    symlinkSync(join(outside, 'secret.txt'), join(root, 'leak.bin'))
    symlinkSync(outside, join(root, 'out-dir'))
    symlinkSync(join(root, 'sub', 'b.bin'), join(root, 'alias.bin'))
    store = await createTestStore()
    server = createServer((req, res) => {
      if (req.url === '/file') res.end('served')
      else if (req.url === '/big') res.end(Buffer.alloc(4096, 1))
      else if (req.url === '/redirect-in') res.writeHead(302, { location: '/file' }).end()
      else if (req.url === '/redirect-out') res.writeHead(302, { location: `http://localhost:${port}/file` }).end()
      else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end()
      else res.writeHead(404).end('no')
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    base = `http://127.0.0.1:${port}`
  })
  afterAll(async () => {
    await new Promise(resolve => server.close(resolve))
    await store.close()
    tmp.remove()
  })

  it('are refused when nothing is allowed (the default)', async () => {
    const r = resolver({})
    expect(await codeOf(r.fetch(fileUrl(join(root, 'a.bin'))))).toBe('RESOURCE_FORBIDDEN')
    expect(await codeOf(r.fetch(`${base}/file`))).toBe('RESOURCE_FORBIDDEN')
  })

  it('files inside an allowed root are read, symlinks that stay inside included', async () => {
    const r = resolver({ allowFileRoots: [root] })
    expect(Buffer.from(await r.fetch(fileUrl(join(root, 'a.bin')))).toString()).toBe('inside')
    expect(Buffer.from(await r.fetch(fileUrl(join(root, 'sub', 'b.bin')))).toString()).toBe('deeper')
    expect(Buffer.from(await r.fetch(fileUrl(join(root, 'alias.bin')))).toString()).toBe('deeper')
    expect(Buffer.from(await r.fetch(`file://localhost${join(root, 'a.bin')}`)).toString()).toBe('inside')
  })

  it('paths that lead outside, by .., by encoded dots or by a symlink, are refused', async () => {
    const r = resolver({ allowFileRoots: [root] })
    for (const url of [
      fileUrl(join(outside, 'secret.txt')),
      `file://${root}/../outside/secret.txt`,
      `file://${root}/%2e%2e/outside/secret.txt`,
      `file://${root}/sub/%2E%2E/%2E%2E/outside/secret.txt`,
      fileUrl(join(root, 'leak.bin')),
      fileUrl(join(root, 'out-dir', 'secret.txt')),
      `file://${root}-sibling/a.bin`,
      `file://otherhost${join(root, 'a.bin')}`
    ]) {
      expect(await codeOf(r.fetch(url)), url).toBe('RESOURCE_FORBIDDEN')
    }
    // a folder is not a resource; a missing file inside a root may turn up later
    expect(await codeOf(r.fetch(fileUrl(join(root, 'sub'))))).toBe('RESOURCE_FORBIDDEN')
    expect(await codeOf(r.fetch(fileUrl(join(root, 'missing.bin'))))).toBe('RESOURCE_UNAVAILABLE')
    // a missing file outside is refused, not reported missing: nothing is learnt about it
    expect(await codeOf(r.fetch(fileUrl(join(outside, 'missing.txt'))))).toBe('RESOURCE_FORBIDDEN')
  })

  it('files larger than the limit are refused', async () => {
    expect(await codeOf(resolver({ allowFileRoots: [root], maxUrlBytes: 3 }).fetch(fileUrl(join(root, 'a.bin'))))).toBe('RESOURCE_TOO_LARGE')
  })

  it('HTTP from an allowed host:port is fetched, redirects on allowed hosts followed', async () => {
    const r = resolver({ allowHttpHosts: [`127.0.0.1:${port}`] })
    expect(Buffer.from(await r.fetch(`${base}/file`)).toString()).toBe('served')
    expect(Buffer.from(await r.fetch(`${base}/redirect-in`)).toString()).toBe('served')
  })

  it('HTTP from other hosts or ports, redirects away, errors and oversized bodies are refused', async () => {
    const r = resolver({ allowHttpHosts: [`127.0.0.1:${port}`], maxUrlBytes: 1024 })
    expect(await codeOf(r.fetch(`http://localhost:${port}/file`))).toBe('RESOURCE_FORBIDDEN')
    expect(await codeOf(r.fetch(`${base}/redirect-out`))).toBe('RESOURCE_FORBIDDEN')
    expect(await codeOf(r.fetch(`${base}/loop`))).toBe('RESOURCE_UNAVAILABLE')
    expect(await codeOf(r.fetch(`${base}/nothing`))).toBe('RESOURCE_UNAVAILABLE')
    expect(await codeOf(r.fetch(`${base}/big`))).toBe('RESOURCE_TOO_LARGE')
    expect(await codeOf(r.fetch(`http://user:pw@127.0.0.1:${port}/file`))).toBe('RESOURCE_FORBIDDEN')
    // a host without a port allows the scheme's default port only
    expect(await codeOf(resolver({ allowHttpHosts: ['127.0.0.1'] }).fetch(`${base}/file`))).toBe('RESOURCE_FORBIDDEN')
  })

  it('which URLs are content-addressed', () => {
    expect(isContentAddressedUrl('ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka')).toBe(true)
    expect(isContentAddressedUrl(`${base}/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka`)).toBe(true)
    expect(isContentAddressedUrl(`${base}/file`)).toBe(false)
    expect(isContentAddressedUrl(fileUrl(join(root, 'a.bin')))).toBe(false)
  })
})

describe('a workflow whose Wasm is a file', () => {
  const tmp = tempDir('ipvm-wasm-root-')
  beforeAll(async () => { writeFileSync(join(tmp.dir, 'test.wasm'), await buildTestComponent()) }, 60_000)
  afterAll(() => { tmp.remove() })

  it('runs from an allowed root and is refused (not retried) elsewhere or by default', async () => {
    const rsc = fileUrl(join(tmp.dir, 'test.wasm'))
    const allowed = await startTestNode({ config: { resources: { allow_file_roots: [tmp.dir] }, network: { enable: false } } })
    try {
      const ok = await collectRun(await allowed.client.runWorkflow({ tasks: [task(rsc, 'add_one', [1])] }), 30_000)
      expect(ok.status.status).toBe('completed')
      expect(ok.receipts[0].receipt.out).toEqual(['ok', 2])
      const elsewhere = await collectRun(await allowed.client.runWorkflow({ tasks: [task(fileUrl('/etc/hostname'), 'add_one', [1])] }), 30_000)
      expect(elsewhere.receipts[0].receipt.out[1]).toMatchObject({ code: 'RESOURCE_FORBIDDEN', attempts: 1 })
    } finally {
      await allowed.close()
    }
    const byDefault = await startTestNode({ config: { network: { enable: false } } })
    try {
      const r = await collectRun(await byDefault.client.runWorkflow({ tasks: [task(rsc, 'add_one', [1])] }), 30_000)
      expect(r.status.status).toBe('failed')
      expect(r.receipts[0].receipt.out[1]).toMatchObject({ code: 'RESOURCE_FORBIDDEN', attempts: 1 })
    } finally {
      await byDefault.close()
    }
  }, 60_000)
})
