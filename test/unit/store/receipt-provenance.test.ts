import { afterEach, describe, expect, it } from 'vitest'
import { cidOf, encodeReceipt, receiptCid, wasmReceipt } from '../../../src/ipld/index.js'
import { MAX_VOUCHERS, type Store, type Voucher } from '../../../src/store/index.js'
import { memoryStore } from '../../utils/memory-store.js'

const stores: Store[] = []
afterEach(async () => { for (const s of stores.splice(0)) await s.stop() })

async function store (): Promise<Store> {
  const s = await memoryStore()
  stores.push(s)
  return s
}

const instruction = cidOf({ op: 'wasm/run', nnc: '', rsc: 'ipfs://x', input: { args: [1], func: 'f' } })
const ran = cidOf({ task: { run: instruction, meta: {}, prf: [], cause: null } })
function receipt (value: number): { cid: ReturnType<typeof receiptCid>, instruction: typeof instruction, bytes: Uint8Array } {
  const r = wasmReceipt(ran, 'f', value)
  return { cid: receiptCid(r), instruction, bytes: encodeReceipt(r) }
}
const voucher = (peer: string, signed = false): Voucher => ({ peer, via: 'pubsub', signed })

describe('receipt provenance', () => {
  it('records who stands behind a receipt, and adds vouchers once each, up to a bound', async () => {
    const s = await store()
    const r = receipt(2)
    await s.receipts.put({ ...r, source: { kind: 'peer', vouchers: [voucher('a')] } })
    await s.receipts.put({ ...r, source: { kind: 'peer', vouchers: [voucher('a', true), voucher('b')] } })
    expect(await s.receipts.provenanceOf([r.cid])).toEqual([{ local: false, vouchers: [voucher('a', true), voucher('b')] }])
    await s.receipts.put({ ...r, source: { kind: 'peer', vouchers: Array.from({ length: 20 }, (_, i) => voucher(`p${i}`)) } })
    expect((await s.receipts.provenanceOf([r.cid]))[0]?.vouchers).toHaveLength(MAX_VOUCHERS)
    await s.receipts.put(r)
    expect((await s.receipts.provenanceOf([r.cid]))[0]?.local).toBe(true)
  })

  it('a receipt this node computed takes the place of a peer\'s as the one to reuse, never the other way', async () => {
    const s = await store()
    const peers = receipt(1000)
    const own = receipt(2)
    await s.receipts.put({ ...peers, source: { kind: 'peer', vouchers: [voucher('a')] } })
    expect((await s.receipts.getByInstruction(instruction))?.cid.equals(peers.cid)).toBe(true)
    await s.receipts.put(own)
    const reused = await s.receipts.getByInstruction(instruction)
    expect(reused?.cid.equals(own.cid)).toBe(true)
    expect(reused?.provenance).toEqual({ local: true, vouchers: [] })
    // a peer's receipt coming later does not displace it
    await s.receipts.put({ ...receipt(3), source: { kind: 'peer', vouchers: [voucher('b')] } })
    expect((await s.receipts.getByInstruction(instruction))?.cid.equals(own.cid)).toBe(true)
    // both peers' receipts are still in the store, by their CIDs
    expect(await s.receipts.get(peers.cid)).toBeDefined()
  })
})
