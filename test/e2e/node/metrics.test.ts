import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun } from '../../../src/client/index.js'
import { OpenRpc } from '../../../src/rpc/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { promtoolCheck, skipPromtool } from '../../utils/promtool.js'
import { addResource, chain, task } from '../../utils/workflows.js'

/** The value of one series in Prometheus text (0 when absent). */
function sample (text: string, name: string, labels = ''): number {
  const line = text.split('\n').find(l => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}} `}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('metrics of a node that ran workflows', () => {
  let t: TestNode
  let rsc: string
  const scrape = async (): Promise<string> => await (await fetch(`http://127.0.0.1:${t.node.metricsPort}/metrics`)).text()

  beforeAll(async () => {
    t = await startTestNode({ config: { workflow: { retries: 1, retry_initial_delay_ms: 5, retry_max_delay_ms: 10 } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 60_000)
  afterAll(async () => { await t.close() })

  it('workflow, task and receipt counters move by the right amounts, and promtool accepts the scrape', async () => {
    const before = await scrape()
    const ok = await collectRun(await t.client.runWorkflow(chain(rsc, 3, 1)), 20_000)
    expect(ok.status.status).toBe('completed')
    const bad = await collectRun(await t.client.runWorkflow({ tasks: [task(rsc, 'trap', [])] }), 20_000)
    expect(bad.status.status).toBe('failed')
    await collectRun(await t.client.runWorkflow(chain(rsc, 3, 1)), 20_000)
    const after = await scrape()

    const delta = (name: string, labels = ''): number => sample(after, name, labels) - sample(before, name, labels)
    expect(delta('ipvm_workflows_started_total')).toBe(3)
    expect(delta('ipvm_workflows_completed_total')).toBe(2)
    expect(delta('ipvm_workflows_failed_total')).toBe(1)
    expect(delta('ipvm_tasks_executed_total', 'op="add_one"')).toBe(3)
    expect(delta('ipvm_tasks_replayed_total', 'op="add_one"')).toBe(3)
    expect(delta('ipvm_tasks_failed_total', 'op="trap"')).toBe(1)
    expect(delta('ipvm_task_retries_total', 'op="trap"')).toBe(1)
    // three ok receipts and the trap's error receipt
    expect(delta('ipvm_receipts_stored_total')).toBe(4)
    expect(delta('ipvm_task_duration_seconds_count', 'op="add_one"')).toBe(3)
    expect(sample(after, 'ipvm_workflows_running')).toBe(0)
    expect(sample(after, 'ipvm_store_size_bytes')).toBeGreaterThan(0)

    if (!skipPromtool) expect(await promtoolCheck(after)).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it('the metrics RPC result validates against schemas/metrics.json and agrees with the scrape', async () => {
    const validate = new OpenRpc().ajv.getSchema('metrics.json')!
    const json = await t.client.request<any>('metrics')
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true)
    const text = await scrape()
    const family = json.metrics.find((m: any) => m.metric_name === 'ipvm_workflows_completed_total')
    expect(family.metric_type).toBe('counter')
    expect(Number(family.data[0].value)).toBe(sample(text, 'ipvm_workflows_completed_total'))
  })
})
