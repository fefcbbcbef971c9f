import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateOpenRPCDocument } from '@open-rpc/schema-utils-js'
import { RpcClientError } from '../../../src/client/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'

const apiJson = JSON.parse(readFileSync(new URL('../../../api.json', import.meta.url), 'utf8'))

describe('OpenRPC document', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode() })
  afterAll(async () => { await t.close() })

  it('api.json is a valid OpenRPC document', () => {
    expect(validateOpenRPCDocument(apiJson)).toBe(true)
  })

  it('every registered method is in api.json and every method in api.json is registered', () => {
    const documented = apiJson.methods.map((m: { name: string }) => m.name).sort()
    expect([...t.node.registeredMethods].sort()).toEqual(documented)
  })

  it('rpc.discover and rpc_discover return the document as an object, self-contained and valid', async () => {
    const doc = await t.client.request<any>('rpc.discover')
    const alias = await t.client.request<any>('rpc_discover')
    expect(alias).toEqual(doc)
    expect(doc.openrpc).toBe('1.2.6')
    expect(doc.methods.map((m: { name: string }) => m.name)).toEqual(apiJson.methods.map((m: { name: string }) => m.name))
    expect(validateOpenRPCDocument(doc)).toBe(true)
    // every $ref points inside the document
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? []
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) expect(ref).toMatch(/"\$ref":"#\//)
    expect(doc.components.schemas.node_info).toBeTypeOf('object')
  })
})

describe('methods', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode() })
  afterAll(async () => { await t.close() })

  it('health is {healthy: true} while the store answers', async () => {
    expect(await t.client.request('health')).toEqual({ healthy: true })
  })

  it('node gives the peer id, listeners and connections', async () => {
    const info = await t.client.node()
    expect(info.static.peer_id).toBe(t.node.peerId)
    expect(info.static.peer_id).toMatch(/^12D3KooW/)
    expect(Array.isArray(info.dynamic.listeners)).toBe(true)
    expect(typeof info.dynamic.connections).toBe('object')
  })

  it('two batches sent in the same moment each get their own answers', async () => {
    const [a, b] = await Promise.all([
      t.client.batch([{ method: 'health' }, { method: 'node' }]),
      t.client.batch([{ method: 'node' }, { method: 'health' }])
    ])
    expect(a[0]).toEqual({ healthy: true })
    expect((a[1] as { static: { peer_id: string } }).static.peer_id).toBe(t.node.peerId)
    expect((b[0] as { static: { peer_id: string } }).static.peer_id).toBe(t.node.peerId)
    expect(b[1]).toEqual({ healthy: true })
  })

  it('node tells whether receipt gossip reaches peers', async () => {
    const info = await t.client.request<{ dynamic: { gossip: unknown } }>('node')
    expect(info.dynamic.gossip).toEqual({ mesh_peers: [], subscribers: 0, last_received: null, last_published: null })
  })

  it('params are validated against api.json before the handler runs', async () => {
    const err = await t.client.request<any>('node', ['unexpected']).catch((e: any) => e)
    expect(err).toBeInstanceOf(RpcClientError)
    expect(err.code).toBe(-32602)
    expect(err.data.code).toBe('RPC_INVALID_PARAMS')
    expect(err.data.issues[0]).toMatchObject({ path: '/0' })
    const byName = await t.client.request<any>('health', { verbose: true }).catch((e: any) => e)
    expect(byName.code).toBe(-32602)
    expect(byName.data.issues).toEqual([{ path: '/verbose', message: 'unknown param "verbose"' }])
  })

  it('an unknown method is -32601', async () => {
    const err = await t.client.request<any>('no_such_method').catch((e: any) => e)
    expect(err.code).toBe(-32601)
  })

  it('GET /health, /node and /rpc_discover answer like the methods', async () => {
    const health = await fetch(`${t.httpUrl}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ healthy: true })
    const node = await (await fetch(`${t.httpUrl}/node`)).json()
    expect(node.static.peer_id).toBe(t.node.peerId)
    const doc = await (await fetch(`${t.httpUrl}/rpc_discover`)).json()
    expect(doc.openrpc).toBe('1.2.6')
    expect((await fetch(`${t.httpUrl}/nope`)).status).toBe(404)
  })
})

describe('metrics', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode() })
  afterAll(async () => { await t.close() })

  it('metrics returns every family, and prefix really filters (both param forms)', async () => {
    const all = await t.client.request<any>('metrics')
    const names: string[] = all.metrics.map((m: { metric_name: string }) => m.metric_name)
    expect(names).toContain('ipvm_rpc_requests_total')
    expect(names).toContain('process_cpu_user_seconds_total')
    const positional = await t.client.request<any>('metrics', [{ prefix: 'ipvm_rpc_' }])
    const byName = await t.client.request<any>('metrics', { prefix: 'ipvm_rpc_' })
    for (const r of [positional, byName]) {
      expect(r.metrics.length).toBeGreaterThan(0)
      expect(r.metrics.length).toBeLessThan(all.metrics.length)
      for (const m of r.metrics) expect(m.metric_name.startsWith('ipvm_rpc_')).toBe(true)
    }
    const bad = await t.client.request<any>('metrics', [{ prefix: 5 }]).catch((e: any) => e)
    expect(bad.code).toBe(-32602)
  })

  it('RPC requests are counted by method and outcome', async () => {
    const count = async (outcome: string): Promise<number> => {
      const r = await t.client.request<any>('metrics', [{ prefix: 'ipvm_rpc_requests_total' }])
      const sample = r.metrics[0]?.data.find((d: any) => d.labels?.method === 'health' && d.labels?.outcome === outcome)
      return Number(sample?.value ?? 0)
    }
    const before = await count('ok')
    await t.client.health()
    await t.client.health()
    expect(await count('ok')).toBe(before + 2)
  })

  it('GET /metrics on the RPC port gives the JSON form; the metrics port gives Prometheus text', async () => {
    const json = await (await fetch(`${t.httpUrl}/metrics`)).json()
    expect(Array.isArray(json.metrics)).toBe(true)
    const text = await (await fetch(`http://127.0.0.1:${t.node.metricsPort}/metrics`)).text()
    expect(text).toContain('# TYPE ipvm_rpc_requests_total counter')
    expect(text).toContain(`ipvm_node_info{version="`)
  })
})
