import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { cidOf, parseCid, receiptCid, wasmReceipt } from '../../../src/ipld/index.js'
import { Connection, runNotification, type Payload } from '../../../src/rpc/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import type { ReceiptEvent, RunEvent, StatusEvent } from '../../../src/workflow/index.js'

const WORKFLOW = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
const run = { cid: WORKFLOW, name: 'unit' }
const receipt = wasmReceipt(WORKFLOW, 'add_one', 2)
const receiptEvent: ReceiptEvent = { type: 'receipt', index: 0, cid: receiptCid(receipt), receipt, replayed: false }
const statusEvent: StatusEvent = { type: 'status', status: 'completed', final: true, tasks: { total: 1, executed: 1, replayed: 0, failed: 0, skipped: 0 }, retries: 0, at: 1 }

/** A connection over a socket that records what it is given to send. */
function connection (): { conn: Connection, sent: Array<string | Buffer> } {
  const sent: Array<string | Buffer> = []
  const ws = { OPEN: 1, readyState: 1, bufferedAmount: 0, send: (text: string | Buffer) => sent.push(text), terminate: () => {} } as unknown as WebSocket
  return { conn: new Connection(1, ws, { defaultFormat: 'bytes', maxBufferedBytes: 1 << 20 }, silentLogger(), () => {}), sent }
}

describe('run notifications', () => {
  it('a receipt goes to every subscriber; a status only to one that asked for it', () => {
    for (const options of [undefined, {}, { status: false }, { format: 'json' as const }]) {
      expect(runNotification(run, receiptEvent, options)).toHaveProperty('dagJson')
      expect(runNotification(run, statusEvent, options)).toBeUndefined()
    }
    expect(runNotification(run, statusEvent, { status: true })).toEqual({ json: { workflow_status: expect.objectContaining({ status: 'completed', final: true, name: 'unit', workflow: { '/': WORKFLOW.toString() } }) } })
  })
})

/** After a new subscription's notifications are let out: two turns of the event loop's check phase. */
async function activated (): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise(resolve => setImmediate(resolve))
}

describe('Connection', () => {
  it('corks its socket from the first message of a turn to the end of the turn: the turn\'s messages leave in one write, in order', async () => {
    const { conn, sent } = connection()
    const calls: string[] = []
    const socket = { cork: () => calls.push('cork'), uncork: () => calls.push(`uncork after ${sent.length}`) }
    const corked = new Connection(2, (conn as unknown as { ws: WebSocket }).ws, { defaultFormat: 'json', maxBufferedBytes: 1 << 20, socket }, silentLogger(), () => {})
    corked.send('a')
    corked.send('b')
    const sub = corked.subscribe('m')
    corked.flushPending()
    sub.notify({ json: 1 })
    expect(calls).toEqual(['cork'])
    await new Promise(resolve => process.nextTick(resolve))
    expect(calls).toEqual(['cork', 'uncork after 2'])
    // a new subscription's first notification leaves in a write of its own, a turn of the loop later
    await activated()
    expect(calls).toEqual(['cork', 'uncork after 2', 'cork', 'uncork after 3'])
    expect(sent.map(String)).toEqual(['a', 'b', `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${sub.id}","result":1}}`])
    corked.send('c')
    sub.notify({ json: 2 })
    expect(calls).toEqual(['cork', 'uncork after 2', 'cork', 'uncork after 3', 'cork'])
    await new Promise(resolve => process.nextTick(resolve))
    expect(calls).toEqual(['cork', 'uncork after 2', 'cork', 'uncork after 3', 'cork', 'uncork after 5'])
  })

  it('frames each subscription\'s notifications in its own format; the connection\'s default when it gave none', async () => {
    const { conn, sent } = connection()
    const payload: Payload = { dagJson: '{"a":1.0}' }
    const asDefault = conn.subscribe('m')
    const asJson = conn.subscribe('m', 'json')
    const asBytes = conn.subscribe('m', 'bytes')
    conn.flushPending()
    await activated()
    for (const sub of [asDefault, asJson, asBytes]) sub.notify(payload)
    const bytes = JSON.stringify(Array.from(Buffer.from('{"a":1.0}')))
    expect(sent.map(String)).toEqual([
      `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${asDefault.id}","result":${bytes}}}`,
      `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${asJson.id}","result":{"a":1.0}}}`,
      `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${asBytes.id}","result":${bytes}}}`
    ])
  })

  it('holds a subscription\'s notifications until its subscribe answer went out and the loop went round, then sends them in its format', async () => {
    const { conn, sent } = connection()
    const sub = conn.subscribe('m', 'json')
    sub.notify({ json: { first: true } })
    expect(sent).toEqual([])
    conn.flushPending()
    expect(sent).toEqual([])
    await activated()
    expect(sent.map(String)).toEqual([`{"jsonrpc":"2.0","method":"m","params":{"subscription":"${sub.id}","result":{"first":true}}}`])
  })
})

describe('runNotification sharing', () => {
  it('is written once per event and run name, for every subscriber of the run', () => {
    const cid = cidOf({ tasks: [] })
    const event: RunEvent = { type: 'status', status: 'running', final: false, tasks: { total: 1, executed: 0, replayed: 0, failed: 0, skipped: 0 }, retries: 0, at: 1 }
    const a = runNotification({ cid, name: 'a' }, event, { status: true })
    expect(runNotification({ cid, name: 'a' }, event, { status: true })).toBe(a)
    expect(runNotification({ cid, name: 'b' }, event, { status: true })).not.toBe(a)
    expect(runNotification({ cid, name: 'a' }, { ...event }, { status: true })).not.toBe(a)
    expect(a).toEqual({ json: { workflow_status: { workflow: { '/': cid.toString() }, name: 'a', status: 'running', final: false, tasks: event.tasks, retries: 0, timestamp: 1 } } })
  })

  it('keeps a small notification only while its event is the last one; a large one as long as its event', () => {
    const small = runNotification(run, receiptEvent)
    expect(runNotification(run, receiptEvent)).toBe(small)
    const other = wasmReceipt(WORKFLOW, 'add_one', 3)
    const otherEvent: ReceiptEvent = { type: 'receipt', index: 1, cid: receiptCid(other), receipt: other, replayed: false }
    runNotification(run, otherEvent)
    // written again for a subscriber that comes later (the same text), not kept for the run's life
    const again = runNotification(run, receiptEvent)
    expect(again).not.toBe(small)
    expect(again).toEqual(small)

    const large = wasmReceipt(WORKFLOW, 'echo', 'x'.repeat(100_000))
    const largeEvent: ReceiptEvent = { type: 'receipt', index: 2, cid: receiptCid(large), receipt: large, replayed: false }
    const kept = runNotification(run, largeEvent)
    runNotification(run, otherEvent)
    expect(runNotification(run, largeEvent)).toBe(kept)
  })

  it('sends a large result in fragments around one encoding shared by the subscribers of each format', async () => {
    const big: Payload = { dagJson: JSON.stringify({ s: 'x'.repeat(100_000) }) }
    const { conn, sent } = connection()
    const subs = [conn.subscribe('m', 'json'), conn.subscribe('m', 'json'), conn.subscribe('m', 'bytes'), conn.subscribe('m', 'bytes')]
    conn.flushPending()
    await activated()
    for (const sub of subs) sub.notify(big)
    expect(sent).toHaveLength(12)
    const middles = [sent[1], sent[4], sent[7], sent[10]]
    expect(middles[0]).toBe(middles[1])
    expect(middles[2]).toBe(middles[3])
    expect(String(middles[0])).toBe(big.dagJson)
    expect(JSON.parse(String(middles[2]))).toEqual(Array.from(Buffer.from(big.dagJson)))
    expect(`${String(sent[6])}${String(sent[7])}${String(sent[8])}`).toBe(`{"jsonrpc":"2.0","method":"m","params":{"subscription":"${subs[2].id}","result":${JSON.stringify(Array.from(Buffer.from(big.dagJson)))}}}`)
  })
})
