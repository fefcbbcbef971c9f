import { existsSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { IpvmClient, collectRun } from '../../../src/client/index.js'
import { IpvmNode } from '../../../src/node/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { buildTestCoreModule } from '../../utils/wasm.js'
import { tempDir, testConfig } from '../../utils/node.js'
import { waitUntil } from '../../utils/wait.js'
import { addResource, chain } from '../../utils/workflows.js'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function health (httpUrl: string): Promise<unknown> {
  const res = await fetch(httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' })
  return ((await res.json()) as { result: unknown }).result
}

describe('a node answers JSON-RPC before its network is up', () => {
  it('says the network is starting in health, runs workflows meanwhile, and answers exactly Homestar\'s health once it is up', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    let openGate = (): void => {}
    const gate = new Promise<void>(resolve => { openGate = resolve })
    // checks every result against api.json, the health result with `starting` included
    const node = new IpvmNode({ config: testConfig(t.dir), logger: silentLogger(), validateResults: true, networkGate: gate })
    const started = node.start()
    cleanups.push(async () => {
      openGate()
      // a node stopped while it starts rejects its start
      await started.catch(() => {})
      await node.stop()
    })

    await waitUntil(() => node.rpcPort !== 0, 20_000, 'JSON-RPC listening')
    const httpUrl = node.rpcUrl.replace(/^ws:/, 'http:')
    expect(node.startingParts).toEqual(['network'])
    expect(await health(httpUrl)).toEqual({ healthy: true, starting: ['network'] })
    expect(await (await fetch(`${httpUrl}/health`)).json()).toEqual({ healthy: true, starting: ['network'] })
    const client = await IpvmClient.connect(node.rpcUrl)
    cleanups.push(async () => { await client.close() })
    expect((await client.node()).dynamic.listeners).toEqual([])
    // clients find it by its ports.json already, which says what is still starting
    const ports = (): Record<string, unknown> => JSON.parse(readFileSync(node.portsFile, 'utf8'))
    expect(ports()).toMatchObject({ pid: process.pid, rpc: { port: node.rpcPort }, listeners: [], peer_id: node.peerId, starting: ['network'] })
    // a subscription to network events taken now is kept for when the network is up
    const events = await client.networkEvents()
    // workflows run without peers meanwhile
    const rsc = await addResource(httpUrl, await buildTestCoreModule())
    const run = await collectRun(await client.runWorkflow(chain(rsc, 2, 1)), 20_000)
    expect(run.receipts.map(r => r.receipt.out)).toEqual([['ok', 2], ['ok', 3]])
    expect(node.startingParts).toEqual(['network'])

    openGate()
    await started
    expect(node.startingParts).toEqual([])
    expect(await health(httpUrl)).toEqual({ healthy: true })
    expect((await client.node()).dynamic.listeners.length).toBeGreaterThan(0)
    // written again once all is up: the listeners, and nothing starting
    expect(ports().starting).toBeUndefined()
    expect(ports().listeners).toEqual(node.multiaddrs)
    expect(node.multiaddrs.length).toBeGreaterThan(0)
    await events.close()
  })

  it('a node whose network fails to start removes the ports.json it wrote when JSON-RPC answered', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    let openGate = (): void => {}
    const gate = new Promise<void>(resolve => { openGate = resolve })
    // libp2p cannot listen on an address that is not an IP one of this machine
    const node = new IpvmNode({ config: testConfig(t.dir, { network: { listen: ['/ip4/192.0.2.1/tcp/0'] } }), logger: silentLogger(), networkGate: gate })
    cleanups.push(async () => { await node.stop() })
    const started = node.start()
    await waitUntil(() => node.rpcPort !== 0, 20_000, 'JSON-RPC listening')
    expect(JSON.parse(readFileSync(node.portsFile, 'utf8')).starting).toEqual(['network'])
    openGate()
    await expect(started).rejects.toThrow()
    expect(existsSync(node.portsFile)).toBe(false)
  })

  it('a node that cannot start on a folder another node holds leaves that node\'s ports.json alone', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const first = new IpvmNode({ config: testConfig(t.dir, { network: { enable: false } }), logger: silentLogger() })
    cleanups.push(async () => { await first.stop() })
    await first.start()
    const written = readFileSync(first.portsFile, 'utf8')
    const second = new IpvmNode({ config: testConfig(t.dir, { network: { enable: false } }), logger: silentLogger() })
    await expect(second.start()).rejects.toMatchObject({ code: 'STORE_LOCKED' })
    await second.stop()
    expect(readFileSync(first.portsFile, 'utf8')).toBe(written)
  })

  it('a node without a network has nothing starting once JSON-RPC answers', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const node = new IpvmNode({ config: testConfig(t.dir, { network: { enable: false } }), logger: silentLogger(), networkGate: new Promise(() => {}) })
    cleanups.push(async () => { await node.stop() })
    // the gate is never opened: a node without a network does not wait for it
    await node.start()
    expect(await health(node.rpcUrl.replace(/^ws:/, 'http:'))).toEqual({ healthy: true })
  })
})
