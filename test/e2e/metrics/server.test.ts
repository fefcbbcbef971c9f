import { describe, it, expect, afterEach } from 'vitest'
import { connect } from 'node:net'
import { Gauge, type Registry } from 'prom-client'
import { promtoolCheck, skipPromtool } from '../../utils/promtool.js'
import { createMetrics, createMetricsRegistry, MetricsServer, MetricsErrorCode, type Metrics } from '../../../src/metrics/index.js'

const running: MetricsServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async (s) => { await s.stop() }))
})

async function startServer (registry: Registry, port = 0): Promise<MetricsServer> {
  const server = new MetricsServer({ host: '127.0.0.1', port }, { registry })
  running.push(server)
  await server.start()
  return server
}

function exercise (metrics: Metrics): void {
  metrics.workflow.started.inc(2)
  metrics.workflow.completed.inc()
  metrics.workflow.running.set(1)
  metrics.tasks.executed.inc({ op: 'add_one' }, 3)
  metrics.tasks.durationSeconds.observe({ op: 'add_one' }, 0.004)
  metrics.rpc.requests.inc({ method: 'run_workflow', outcome: 'ok' })
  metrics.rpc.durationSeconds.observe({ method: 'run_workflow' }, 0.0007)
  metrics.rpc.subscriptions.set({ kind: 'run_workflow' }, 1)
  metrics.network.dhtOps.inc({ op: 'get', outcome: 'not_found' })
  metrics.store.sizeBytes.setCollector(() => 81920)
  metrics.node.info.set({ version: '0.1.0', peer_id: '12D3KooWTest' }, 1)
}

describe('MetricsServer', () => {
  it.skipIf(skipPromtool)('serves text on a free port that promtool check metrics accepts', async () => {
    const registry = createMetricsRegistry()
    exercise(createMetrics(registry))
    const server = await startServer(registry)
    expect(server.port).toBeGreaterThan(0)
    expect(server.port).not.toBe(4000)

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(registry.contentType)
    const text = await res.text()
    expect(text).toContain('ipvm_workflows_started_total 2')
    expect(text).toContain('ipvm_tasks_executed_total{op="add_one"} 3')
    expect(text).toContain('ipvm_store_size_bytes 81920')
    expect(text).toContain('ipvm_task_duration_seconds_bucket{le="0.005",op="add_one"} 1')
    expect(text).toContain('process_cpu_seconds_total')

    const result = await promtoolCheck(text)
    // promtool writes lint findings and parse errors to stderr: the whole scrape, default
    // process metrics included, has none
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it.skipIf(skipPromtool)('serves ipvm metrics alone without a single promtool finding', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    exercise(createMetrics(registry))
    const server = await startServer(registry)
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()
    expect(text).toContain('# TYPE ipvm_rpc_request_duration_seconds histogram')
    expect(await promtoolCheck(text)).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it.skipIf(skipPromtool)('really checks: promtool flags a badly named metric and malformed text', async () => {
    const result = await promtoolCheck('# HELP bad_things Bad.\n# TYPE bad_things counter\nbad_things 1\n')
    expect(result.code).toBe(3)
    const malformed = await promtoolCheck('# HELP a_total A.\n# TYPE a_total counter\na_total{x="1" 1\n')
    expect(malformed.code).toBe(1)
    expect(malformed.stderr).toContain('error while linting')
    expect(result.stderr).toContain('bad_things counter metrics should have "_total" suffix')
  })

  it('answers 404 for other paths and 405 for other methods', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    createMetrics(registry)
    const server = await startServer(registry)
    const base = `http://127.0.0.1:${server.port}`
    expect((await fetch(`${base}/`)).status).toBe(404)
    expect((await fetch(`${base}/metricsx`)).status).toBe(404)
    expect((await fetch(`${base}/health`, { method: 'POST', body: '{}' })).status).toBe(404)
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    expect((await fetch(`${base}/metrics`, { method: 'PUT', body: 'x' })).status).toBe(405)
    expect((await fetch(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405)
    const withQuery = await fetch(`${base}/metrics?name[]=ipvm_workflows_running`)
    expect(withQuery.status).toBe(200)
    expect(await withQuery.text()).toContain('ipvm_workflows_running 0')
  })

  it('answers 500 when the registry cannot be read, and serves again once it can', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    createMetrics(registry)
    let broken = true
    const raw = new Gauge({
      name: 'test_raw_gauge',
      help: 'A gauge whose collect throws, outside the typed tree.',
      registers: [registry],
      collect () { if (broken) throw new Error('collect failed') }
    })
    raw.set(1)
    const server = await startServer(registry)
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`)
    expect(res.status).toBe(500)
    broken = false
    const ok = await fetch(`http://127.0.0.1:${server.port}/metrics`)
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('test_raw_gauge 1')
  })

  it('reports its port only while listening, and stop is idempotent', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const server = new MetricsServer({ port: 0 }, { registry })
    expect(() => server.port).toThrow(expect.objectContaining({ code: MetricsErrorCode.NOT_STARTED }))
    expect(server.listening).toBe(false)
    await server.start()
    await server.start()
    const port = server.port
    expect(server.listening).toBe(true)
    await server.stop()
    await server.stop()
    expect(() => server.port).toThrow(expect.objectContaining({ code: MetricsErrorCode.NOT_STARTED }))
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow()
  })

  it('rejects with METRICS_LISTEN_FAILED when the port is taken', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    const first = await startServer(registry)
    const second = new MetricsServer({ host: '127.0.0.1', port: first.port }, { registry })
    await expect(second.start()).rejects.toMatchObject({ code: MetricsErrorCode.LISTEN_FAILED, data: { host: '127.0.0.1', port: first.port } })
    expect(second.listening).toBe(false)
  })

  it('closes idle keep-alive connections on stop', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false })
    createMetrics(registry)
    const server = await startServer(registry)
    const socket = connect(server.port, '127.0.0.1')
    const closed = new Promise<void>((resolve) => { socket.on('close', () => { resolve() }) })
    socket.on('error', () => {})
    await new Promise<void>((resolve) => { socket.on('connect', () => { resolve() }) })
    socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n')
    await new Promise<void>((resolve) => { socket.once('data', () => { resolve() }) })
    await server.stop()
    await closed
    expect(socket.destroyed).toBe(true)
  })
})
