import { describe, expect, it } from 'vitest'
import { cidOf, encode, receiptCid, receiptIpld, wasmReceipt } from '../../../src/ipld/index.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/network/exchange-wire.js'

function receiptFor (n: number): { instruction: ReturnType<typeof cidOf>, receipt: ReturnType<typeof wasmReceipt> } {
  const instruction = cidOf({ op: 'wasm/run', nnc: '', rsc: 'ipfs://x', input: { args: [n], func: 'add_one' } })
  const ran = cidOf({ task: { run: instruction, meta: {}, prf: [], cause: null } })
  return { instruction, receipt: wasmReceipt(ran, 'add_one', n + 1) }
}

describe('receipt exchange wire', () => {
  it('carries which answered receipts are DHT records the answering node only holds', () => {
    const own = receiptFor(1)
    const held = receiptFor(2)
    const sig = { iss: 'did:key:z6Mk', sig: new Uint8Array(64).fill(7) }
    const bytes = encodeResponse([
      { ...own, cid: receiptCid(own.receipt), signature: sig },
      { ...held, cid: receiptCid(held.receipt), record: true }
    ])
    const [a, b] = decodeResponse(bytes)
    expect(a.cid.equals(receiptCid(own.receipt))).toBe(true)
    expect(a.signature).toEqual(sig)
    expect(a.record).toBeUndefined()
    expect(b.cid.equals(receiptCid(held.receipt))).toBe(true)
    expect(b.record).toBe(true)
    expect(b.signature).toBeUndefined()
  })

  it('refuses a record mark that is not true, and a request that is neither want nor have', () => {
    const r = receiptFor(3)
    const answer = (record: unknown): Uint8Array => encode({ receipts: [{ instruction: r.instruction, receipt: receiptIpld(r.receipt), record }] as never })
    expect(decodeResponse(answer(true))[0].record).toBe(true)
    expect(() => decodeResponse(answer(1))).toThrow(/record must be true/)
    expect(() => decodeRequest(encode({ take: [] }))).toThrow(/want.*have/)
    expect(decodeRequest(encodeRequest({ want: [r.instruction] }))).toEqual({ want: [r.instruction] })
  })
})
