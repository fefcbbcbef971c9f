import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addOne, appendString, joinStrings } from '@fission-codes/homestar/workflow'
import { collectRun } from '../../../src/client/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { addOneFixture, addOnePartOneFixture, addResource, workflowCid } from '../../utils/workflows.js'
import { waitUntil } from '../../utils/wait.js'
import { buildWorkflow, OfficialClient, type OfficialReceipt, type OfficialWorkflow } from './official-client.js'

const WAIT_MS = 20_000

/** What a receipt notification says, with its links as strings. */
function summary (n: OfficialReceipt): { out: unknown, receiptCid: string, ran: string, name: string, replayed: boolean, workflow: string } {
  return { out: n.receipt.out, receiptCid: n.receipt_cid.toString(), ran: n.receipt.ran.toString(), name: n.metadata.name, replayed: n.metadata.replayed, workflow: n.metadata.workflow.toString() }
}

describe('@fission-codes/homestar 2.4.0 in Node, against a node with the default settings', () => {
  let t: TestNode
  let rsc: `ipfs://${string}`
  let client: OfficialClient

  beforeAll(async () => {
    t = await startTestNode()
    rsc = await addResource(t.httpUrl, await buildTestComponent()) as `ipfs://${string}`
    client = new OfficialClient(t.url)
  }, 60_000)

  afterAll(async () => {
    client?.close()
    await t?.close()
  })

  it('runs Homestar\'s fixture workflows and gets every receipt, with the CIDs the node stored', async () => {
    // as Homestar's own tests do: part one, then the whole, whose first task is then a replay
    const partOne = JSON.parse(addOnePartOneFixture(rsc)) as OfficialWorkflow['workflow']
    const first = await client.run({ name: 'part-one', workflow: partOne }, 1, WAIT_MS)
    const whole = JSON.parse(addOneFixture(rsc)) as OfficialWorkflow['workflow']
    const second = await client.run({ name: 'add-one', workflow: whole }, 2, WAIT_MS)

    const cidOne = workflowCid(addOnePartOneFixture(rsc))
    const cidWhole = workflowCid(addOneFixture(rsc))
    expect(first.map(summary)).toMatchObject([{ out: ['ok', 2], name: 'part-one', replayed: false, workflow: cidOne }])
    expect(second.map(summary)).toMatchObject([
      { out: ['ok', 2], name: 'add-one', replayed: true, workflow: cidWhole, receiptCid: summary(first[0]).receiptCid },
      { out: ['ok', 3], name: 'add-one', replayed: false, workflow: cidWhole }
    ])
    // the client's links are real CIDs, and they are the node's
    const stored = await t.client.request<Array<{ receipt_cid: { '/': string } }>>('workflow_receipts', [cidWhole])
    expect(stored.map(r => r.receipt_cid['/'])).toEqual(second.map(n => n.receipt_cid.toString()))
    // the project's client, given the fixture text, sees the same receipts
    const ours = await collectRun(await t.client.runWorkflow(addOneFixture(rsc)), WAIT_MS)
    expect(ours.receipts.map(r => r.receipt_cid['/'])).toEqual(second.map(n => n.receipt_cid.toString()))
    await client.settle()
    expect(client.problems).toEqual([])
  })

  it('runs workflows built with its own builders: its await CIDs are the node\'s instruction CIDs', async () => {
    const built = await buildWorkflow('builders', [
      addOne({ name: 'one', resource: rsc, args: { a: 41 } }),
      addOne({ name: 'two', resource: rsc, args: { a: '{{needs.one.output}}' } }),
      appendString({ name: 'hello', resource: rsc, args: { a: 'hello' } }),
      joinStrings({ name: 'joined', resource: rsc, args: { a: '{{needs.hello.output}}', b: '!' } })
    ])
    const got = await client.run(built, 4, WAIT_MS)
    // independent tasks may end in any order; each awaiting one comes after what it awaits
    const outs = got.map(n => n.receipt.out)
    expect(outs).toHaveLength(4)
    expect(outs).toEqual(expect.arrayContaining([['ok', 42], ['ok', 43], ['ok', 'hello\nworld'], ['ok', 'hello\nworld!']]))
    expect(outs.findIndex(o => o[1] === 42)).toBeLessThan(outs.findIndex(o => o[1] === 43))
    expect(outs.findIndex(o => o[1] === 'hello\nworld')).toBeLessThan(outs.findIndex(o => o[1] === 'hello\nworld!'))
    const cid = workflowCid(JSON.stringify(built.workflow))
    expect(got.every(n => n.metadata.name === 'builders' && n.metadata.workflow.toString() === cid && !n.metadata.replayed)).toBe(true)
    const stored = await t.client.request<Array<{ receipt_cid: { '/': string } }>>('workflow_receipts', [cid])
    expect(stored.map(r => r.receipt_cid['/']).sort()).toEqual(got.map(n => n.receipt_cid.toString()).sort())
    await client.settle()
    expect(client.problems).toEqual([])
  })

  it('survives a failing task and a skipped dependent: one error receipt, nothing else, no exception', async () => {
    const built = await buildWorkflow('failing', [
      addOne({ name: 'fine', resource: rsc, args: { a: 7 } }),
      addOne({ name: 'wrong', resource: rsc, args: { a: 'not a number' as never } }),
      addOne({ name: 'after', resource: rsc, args: { a: '{{needs.wrong.output}}' } })
    ])
    const seen: OfficialReceipt[] = []
    const answer = await client.hs.runWorkflow(built, n => seen.push(n))
    expect(answer.error).toBeUndefined()
    // the node's own view: the run is over, failed, with the dependent skipped
    const cid = workflowCid(JSON.stringify(built.workflow))
    await waitUntil(async () => ['failed', 'completed'].includes((await t.client.request<{ status: string }>('workflow_status', [cid])).status), WAIT_MS, 'the run to end')
    // two receipts of three tasks: the dependent of the failed one was skipped
    expect(await t.client.request('workflow_status', [cid])).toMatchObject({ status: 'failed', progress: { receipts: 2, tasks: 3 }, error: { code: 'RUNTIME_BAD_ARGUMENT' } })
    await client.settle()
    expect(seen).toHaveLength(2)
    const outs = seen.map(n => n.receipt.out).sort((a, b) => String(b[0]).localeCompare(String(a[0])))
    expect(outs[0]).toEqual(['ok', 8])
    expect(outs[1][0]).toBe('error')
    expect(outs[1][1]).toMatchObject({ code: 'RUNTIME_BAD_ARGUMENT' })
    expect(client.problems).toEqual([])
  })

  it('streams network events: a second node connecting shows as connection_established', async () => {
    const events: Array<Record<string, any>> = []
    const sub = await client.hs.networkEvents(e => events.push(e))
    expect(sub.error).toBeUndefined()
    const other = await startTestNode({ config: { network: { peers: [t.node.multiaddrs[0]] } } })
    try {
      const established = await waitUntil(() => events.find(e => e.connection_established?.peer_id === other.node.peerId), WAIT_MS, 'connection_established from the second node')
      expect(Object.keys(established)).toEqual(['connection_established'])
      expect(established.connection_established).toMatchObject({ address: expect.stringMatching(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/), timestamp: expect.any(Number) })
    } finally {
      sub.result?.()
      await other.close()
    }
    await client.settle()
    expect(client.problems).toEqual([])
  })
})
