import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun } from '../../../src/client/index.js'
import { encode, parseJson } from '../../../src/ipld/index.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { frameText, RawSocket } from '../../utils/ws.js'
import { sleepTask } from '../../utils/control.js'
import { waitUntil } from '../../utils/wait.js'
import { addResource, awaitOk, chain, task, workflowCid } from '../../utils/workflows.js'

const WAIT_MS = 20_000

/** One notification as it came: its result, and that result decoded when it is Homestar's byte array. */
interface Seen { framing: 'bytes' | 'json', value: any }

function seen (result: unknown): Seen {
  if (Array.isArray(result)) {
    expect(result.every(b => Number.isInteger(b) && b >= 0 && b <= 255)).toBe(true)
    return { framing: 'bytes', value: JSON.parse(Buffer.from(result as number[]).toString('utf8')) }
  }
  return { framing: 'json', value: result }
}

/**
 * A raw WebSocket that opens subscriptions with hand-made params and files each notification
 * under its subscription id. `settle` sends a request and reads up to its answer: everything
 * the node sent on this socket before it has then been read (frames keep their order).
 */
class Subscriber {
  readonly notifications = new Map<string, Seen[]>()
  private seq = 0
  private constructor (readonly socket: RawSocket) {}

  static async open (url: string): Promise<Subscriber> {
    return new Subscriber(await RawSocket.open(url))
  }

  /** Sends a request and reads up to its response, filing the notifications before it. */
  async call (method: string, params?: unknown): Promise<any> {
    const id = ++this.seq
    this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }))
    for (;;) {
      const m = await this.socket.next(WAIT_MS)
      if (m.id === id) return m
      if (typeof m.params?.subscription === 'string') {
        const list = this.notifications.get(m.params.subscription) ?? []
        list.push(seen(m.params.result))
        this.notifications.set(m.params.subscription, list)
      }
    }
  }

  async subscribe (method: string, params?: unknown): Promise<string> {
    const r = await this.call(method, params)
    expect(r.error).toBeUndefined()
    expect(typeof r.result).toBe('string')
    return r.result as string
  }

  /** Every notification sent so far on subscription `id`. */
  async settle (id: string): Promise<Seen[]> {
    expect(await this.call('health')).toMatchObject({ result: { healthy: true } })
    return this.notifications.get(id) ?? []
  }

  close (): void {
    this.socket.close()
  }
}

const isStatus = (s: Seen): boolean => 'workflow_status' in s.value

describe('notifications with the default settings', () => {
  let t: TestNode
  let rsc: string
  beforeAll(async () => {
    t = await startTestNode({ config: { network: { enable: false } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 60_000)
  afterAll(async () => { await t?.close() })

  it('Homestar\'s params get Homestar\'s stream: receipts only, as byte arrays of the DAG-JSON text, also when a task fails', async () => {
    const ok = task(rsc, 'add_one', [1])
    const bad = task(rsc, 'add_one', ['x'])
    const skipped = task(rsc, 'add_one', [awaitOk(bad)])
    const workflow = { tasks: [ok, bad, skipped] }
    const s = await Subscriber.open(t.url)
    const id = await s.subscribe('subscribe_run_workflow', [{ name: 'homestar-form', workflow }])
    // the project's client asks for the status: its final one says the run is over
    const watched = await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
    expect(watched.status).toMatchObject({ status: 'failed', final: true, tasks: { executed: 1, failed: 1, skipped: 1 } })

    // the two independent tasks may end in either order
    const got = (await s.settle(id)).sort((x, y) => String(y.value.receipt.out[0]).localeCompare(String(x.value.receipt.out[0])))
    expect(got.map(n => n.framing)).toEqual(['bytes', 'bytes'])
    expect(got.some(isStatus)).toBe(false)
    expect(got.map(n => n.value.receipt.out[0])).toEqual(['ok', 'error'])
    expect(got[0].value.receipt.out[1]).toBe(2)
    expect(got[1].value.receipt.out[1]).toMatchObject({ code: 'RUNTIME_BAD_ARGUMENT' })
    // Homestar's metadata, and the node that ran the task (not Homestar's; its clients ignore it)
    expect(got.map(n => n.value.metadata)).toEqual([
      { executor: t.node.peerId, name: 'homestar-form', replayed: false, workflow: { '/': workflowCid(workflow) } },
      { executor: t.node.peerId, name: 'homestar-form', replayed: false, workflow: { '/': workflowCid(workflow) } }
    ])
    // the same receipts (CIDs) the JSON subscriber got
    expect(got.map(n => n.value.receipt_cid['/']).sort()).toEqual(watched.receipts.map(r => r.receipt_cid['/']).sort())
    s.close()
  })

  it('the text inside the bytes is the DAG-JSON the json format sends, byte for byte', async () => {
    const workflow = chain(rsc, 1, 41)
    const raw = await RawSocket.open(t.url)
    const frames: string[] = []
    raw.ws.on('message', d => frames.push(frameText(d)))
    const asBytes = await Subscriber.open(t.url)
    const bytesId = await asBytes.subscribe('subscribe_run_workflow', [{ name: 'b', workflow }])
    await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe_run_workflow', params: [{ name: 'b', workflow }, { format: 'json' }] }))
    expect(typeof (await raw.next(WAIT_MS)).result).toBe('string')
    await waitUntil(() => frames.length === 2, WAIT_MS, 'the replayed receipt')
    const jsonText = /^{"jsonrpc":"2.0","method":"subscribe_run_workflow","params":{"subscription":"\w{16}","result":(.*)}}$/.exec(frames[1])![1]
    const [bytes] = await asBytes.settle(bytesId)
    expect(bytes.value.receipt.out).toEqual(['ok', 42])
    // a replay of the same receipt: only `replayed` differs
    expect(jsonText.replace('"replayed":true', '"replayed":false')).toBe(JSON.stringify(bytes.value))
    raw.close()
    asBytes.close()
  })

  it('notifications ready at once (a replay) reach the client in a read after the one with the subscribe response', async () => {
    // Homestar's client registers for a subscription's notifications once it has the response:
    // on Node.js, notifications read together with the response would be handed over first, and lost
    const workflow = chain(rsc, 3, 100)
    await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
    const raw = await RawSocket.open(t.url)
    const reads: string[] = []
    ;(raw.ws as unknown as { _socket: NodeJS.EventEmitter })._socket.on('data', (chunk: Buffer) => reads.push(chunk.toString('latin1')))
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe_run_workflow', params: [{ name: 'replayed', workflow }] }))
    expect(typeof (await raw.next(WAIT_MS)).result).toBe('string')
    for (let n = 0; n < 3; n++) expect((await raw.next(WAIT_MS)).method).toBe('subscribe_run_workflow')
    const withResponse = reads.find(r => r.includes('"id":1'))
    expect(withResponse).toBeDefined()
    expect(withResponse).not.toContain('"method":"subscribe_run_workflow"')
    raw.close()
  })

  it('options choose the format and the status notifications per subscription, in every param form', async () => {
    const workflow = chain(rsc, 2, 10)
    const cbor = Array.from(encode({ name: 'forms', workflow: parseJson(JSON.stringify(workflow)) }))
    const s = await Subscriber.open(t.url)
    const subs = {
      jsonOnly: await s.subscribe('subscribe_run_workflow', [{ name: 'forms', workflow }, { format: 'json' }]),
      bytesStatus: await s.subscribe('subscribe_run_workflow', [{ name: 'forms', workflow }, { status: true }]),
      byName: await s.subscribe('subscribe_run_workflow', { run: { name: 'forms', workflow }, options: { format: 'json', status: true } }),
      shorthand: await s.subscribe('subscribe_run_workflow', { name: 'forms', workflow, options: { format: 'json', status: true } }),
      cborJson: await s.subscribe('subscribe_run_workflow', [cbor, { format: 'json' }]),
      explicitDefault: await s.subscribe('subscribe_run_workflow', [{ name: 'forms', workflow }, { format: 'bytes', status: false }])
    }
    await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
    const got: Record<string, Seen[]> = {}
    for (const [k, id] of Object.entries(subs)) got[k] = await s.settle(id)

    const shape = (list: Seen[]): string[] => list.map(n => `${n.framing}:${isStatus(n) ? `status:${String(n.value.workflow_status.final)}` : 'receipt'}`)
    expect(shape(got.jsonOnly)).toEqual(['json:receipt', 'json:receipt'])
    expect(shape(got.bytesStatus)).toEqual(['bytes:receipt', 'bytes:receipt', 'bytes:status:true'])
    expect(shape(got.byName)).toEqual(['json:receipt', 'json:receipt', 'json:status:true'])
    expect(shape(got.shorthand)).toEqual(['json:receipt', 'json:receipt', 'json:status:true'])
    expect(shape(got.cborJson)).toEqual(['json:receipt', 'json:receipt'])
    expect(shape(got.explicitDefault)).toEqual(['bytes:receipt', 'bytes:receipt'])
    expect(got.bytesStatus[2].value.workflow_status).toMatchObject({ status: 'completed', final: true, name: 'forms', workflow: { '/': workflowCid(workflow) } })
    const cids = got.jsonOnly.map(n => n.value.receipt_cid['/'])
    for (const list of Object.values(got)) expect(list.filter(n => !isStatus(n)).map(n => n.value.receipt_cid['/'])).toEqual(cids)
    s.close()
  })

  it('status: true also carries the intermediate status notifications (a durable sleep)', async () => {
    const workflow = { tasks: [sleepTask(150, 3)] }
    const s = await Subscriber.open(t.url)
    const withStatus = await s.subscribe('subscribe_run_workflow', [{ workflow }, { format: 'json', status: true }])
    const without = await s.subscribe('subscribe_run_workflow', [{ workflow }, { format: 'json' }])
    await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
    const statuses = (await s.settle(withStatus)).filter(isStatus).map(n => `${String(n.value.workflow_status.status)}:${String(n.value.workflow_status.final)}`)
    expect(statuses).toContain('sleeping:false')
    expect(statuses.at(-1)).toBe('completed:true')
    const plain = await s.settle(without)
    expect(plain.some(isStatus)).toBe(false)
    expect(plain.map(n => n.value.receipt.out)).toEqual([['ok', 3]])
    s.close()
  })

  it('bad options are refused with -32602 naming them, and start no run', async () => {
    const workflow = chain(rsc, 1, 555)
    const s = await Subscriber.open(t.url)
    const cases: Array<[string, unknown, string]> = [
      ['subscribe_run_workflow', [{ workflow }, { format: 'xml' }], '/options/format'],
      ['subscribe_run_workflow', [{ workflow }, { status: 'yes' }], '/options/status'],
      ['subscribe_run_workflow', [{ workflow }, { colour: 'red' }], '/options'],
      ['subscribe_run_workflow', [{ workflow }, 'json'], '/options'],
      ['subscribe_run_workflow', [{ workflow }, {}, {}], '/2'],
      ['subscribe_run_workflow', { name: 'x', workflow, options: { format: 1 } }, '/options/format'],
      ['subscribe_network_events', [{ status: true }], '/options'],
      ['subscribe_network_events', { options: { format: 'text' } }, '/options/format']
    ]
    for (const [method, params, path] of cases) {
      const r = await s.call(method, params)
      expect(r.error, JSON.stringify(params)).toMatchObject({ code: -32602, data: { code: 'RPC_INVALID_PARAMS' } })
      expect(r.error.data.issues.map((i: { path: string }) => i.path), JSON.stringify(params)).toContain(path)
    }
    expect(await s.call('workflow_status', [workflowCid(workflow)])).toMatchObject({ error: { data: { code: 'WORKFLOW_NOT_FOUND' } } })
    // the network events forms that are fine
    for (const params of [undefined, [], [{}], [{ format: 'json' }], { options: { format: 'bytes' } }]) {
      expect(typeof (await s.call('subscribe_network_events', params)).result, JSON.stringify(params)).toBe('string')
    }
    s.close()
  })
})

describe('rpc.notification_format = "json"', () => {
  let t: TestNode
  let rsc: string
  beforeAll(async () => {
    t = await startTestNode({ config: { rpc: { notification_format: 'json' }, network: { enable: false } } })
    rsc = await addResource(t.httpUrl, await buildTestComponent())
  }, 60_000)
  afterAll(async () => { await t?.close() })

  it('is the format of subscribers that give none; one that asks for bytes gets bytes; status stays opt-in', async () => {
    const workflow = chain(rsc, 1, 90)
    const s = await Subscriber.open(t.url)
    const plain = await s.subscribe('subscribe_run_workflow', [{ workflow }])
    const bytes = await s.subscribe('subscribe_run_workflow', [{ workflow }, { format: 'bytes' }])
    await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
    expect((await s.settle(plain)).map(n => n.framing)).toEqual(['json'])
    expect((await s.settle(bytes)).map(n => n.framing)).toEqual(['bytes'])
    expect((await s.settle(plain))[0].value.receipt.out).toEqual(['ok', 91])
    s.close()
  })
})
