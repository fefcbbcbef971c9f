import { describe, expect, it } from 'vitest'
import { cidOf, encodeReceipt, Float, receiptCid, toDagJson, type Receipt } from '../../../src/ipld/index.js'
import { RunHistory } from '../../../src/workflow/run-history.js'
import type { RunEvent } from '../../../src/workflow/index.js'

function receipt (i: number, out: Receipt['out'] = ['ok', i]): Receipt {
  return { ran: cidOf({ task: i }), out, meta: { op: 'add_one' }, iss: null, prf: [] }
}

/** An event as the API sees it: the same DAG-JSON for the receipt, the same CID text. */
function view (e: RunEvent): unknown {
  return e.type === 'receipt' ? { ...e, cid: e.cid.toString(), receipt: toDagJson(encodeReceipt(e.receipt)) } : e
}

describe('run history', () => {
  it('gives back every event in order, receipts equal to the ones pushed (CIDs, floats, bytes, errors, executor)', () => {
    const history = new RunHistory()
    const events: RunEvent[] = [
      { type: 'status', status: 'running', final: false, tasks: { total: 4, executed: 0, replayed: 0, failed: 0, skipped: 0 }, retries: 0, at: 1 },
      { type: 'receipt', index: 0, cid: receiptCid(receipt(0)), receipt: receipt(0), replayed: false },
      { type: 'receipt', index: 1, cid: receiptCid(receipt(1, ['ok', new Float(2)])), receipt: receipt(1, ['ok', new Float(2)]), replayed: true, executor: '12D3KooWpeer' },
      { type: 'receipt', index: 2, cid: receiptCid(receipt(2, ['ok', new Uint8Array([1, 2, 3])])), receipt: receipt(2, ['ok', new Uint8Array([1, 2, 3])]), replayed: false },
      { type: 'receipt', index: 3, cid: receiptCid(receipt(3, ['error', { code: 'TASK_FAILED', message: 'no' }])), receipt: receipt(3, ['error', { code: 'TASK_FAILED', message: 'no' }]), replayed: false },
      { type: 'status', status: 'failed', final: true, tasks: { total: 4, executed: 2, replayed: 1, failed: 1, skipped: 0 }, retries: 0, error: { code: 'TASK_FAILED', message: 'no' }, at: 2 }
    ]
    for (const e of events) history.push(e)
    const back = [...history.events()]
    expect(back.map(view)).toEqual(events.map(view))
    const floatOut = back[2].type === 'receipt' ? back[2].receipt.out[1] : undefined
    expect(floatOut).toBeInstanceOf(Float)
  })

  it('packs many receipts and one larger than a chunk, and reads them all back', () => {
    const history = new RunHistory()
    const big = receipt(-1, ['ok', 'x'.repeat(200_000)])
    const pushed: RunEvent[] = []
    for (let i = 0; i < 3000; i++) {
      const r = i === 1500 ? big : receipt(i)
      const e: RunEvent = { type: 'receipt', index: i, cid: receiptCid(r), receipt: r, replayed: false }
      pushed.push(e)
      history.push(e)
    }
    const back = [...history.events()]
    expect(back.length).toBe(3000)
    expect(back.map(view)).toEqual(pushed.map(view))
  })

  it('keeps a few receipts in a few kB, and many in chunks mostly full; a first receipt larger than the first chunk fits', () => {
    const push = (history: RunHistory, r: Receipt, index: number): number => {
      history.push({ type: 'receipt', index, cid: receiptCid(r), receipt: r, replayed: false })
      return receiptCid(r).bytes.length + encodeReceipt(r).length
    }
    const small = new RunHistory()
    let packed = 0
    for (let i = 0; i < 10; i++) packed += push(small, receipt(i), i)
    expect(small.keptBytes).toBeGreaterThanOrEqual(packed)
    expect(small.keptBytes).toBeLessThan(4096)

    const large = new RunHistory()
    packed = 0
    for (let i = 0; i < 5000; i++) packed += push(large, receipt(i), i)
    expect(large.keptBytes).toBeLessThan(packed * 1.25)

    const first = new RunHistory()
    const big = receipt(0, ['ok', 'y'.repeat(5000)])
    push(first, big, 0)
    push(first, receipt(1), 1)
    expect([...first.events()].map(view)).toEqual([big, receipt(1)].map((r, index) => view({ type: 'receipt', index, cid: receiptCid(r), receipt: r, replayed: false })))
  })

  it('an event pushed while the history is read is read too', () => {
    const history = new RunHistory()
    history.push({ type: 'receipt', index: 0, cid: receiptCid(receipt(0)), receipt: receipt(0), replayed: false })
    const seen: number[] = []
    for (const e of history.events()) {
      if (e.type === 'receipt') seen.push(e.index)
      if (seen.length === 1) history.push({ type: 'receipt', index: 1, cid: receiptCid(receipt(1)), receipt: receipt(1), replayed: false })
    }
    expect(seen).toEqual([0, 1])
  })
})
