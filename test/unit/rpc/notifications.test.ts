import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { parseCid, receiptCid, wasmReceipt } from '../../../src/ipld/index.js'
import { Connection, runNotification, type Payload } from '../../../src/rpc/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import type { ReceiptEvent, StatusEvent } from '../../../src/workflow/index.js'

const WORKFLOW = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
const run = { cid: WORKFLOW, name: 'unit' }
const receipt = wasmReceipt(WORKFLOW, 'add_one', 2)
const receiptEvent: ReceiptEvent = { type: 'receipt', index: 0, cid: receiptCid(receipt), receipt, replayed: false }
const statusEvent: StatusEvent = { type: 'status', status: 'completed', final: true, tasks: { total: 1, executed: 1, replayed: 0, failed: 0, skipped: 0 }, retries: 0, at: 1 }

/** A connection over a socket that records what it is given to send. */
function connection (): { conn: Connection, sent: string[] } {
  const sent: string[] = []
  const ws = { OPEN: 1, readyState: 1, bufferedAmount: 0, send: (text: string) => sent.push(text), terminate: () => {} } as unknown as WebSocket
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

describe('Connection', () => {
  it('frames each subscription\'s notifications in its own format; the connection\'s default when it gave none', () => {
    const { conn, sent } = connection()
    const payload: Payload = { dagJson: '{"a":1.0}' }
    const asDefault = conn.subscribe('m')
    const asJson = conn.subscribe('m', 'json')
    const asBytes = conn.subscribe('m', 'bytes')
    conn.flushPending()
    for (const sub of [asDefault, asJson, asBytes]) sub.notify(payload)
    const bytes = JSON.stringify(Array.from(Buffer.from('{"a":1.0}')))
    expect(sent).toEqual([
      `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${asDefault.id}","result":${bytes}}}`,
      `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${asJson.id}","result":{"a":1.0}}}`,
      `{"jsonrpc":"2.0","method":"m","params":{"subscription":"${asBytes.id}","result":${bytes}}}`
    ])
  })

  it('holds a subscription\'s notifications until its subscribe answer went out, then sends them in its format', () => {
    const { conn, sent } = connection()
    const sub = conn.subscribe('m', 'json')
    sub.notify({ json: { first: true } })
    expect(sent).toEqual([])
    conn.flushPending()
    expect(sent).toEqual([`{"jsonrpc":"2.0","method":"m","params":{"subscription":"${sub.id}","result":{"first":true}}}`])
  })
})
