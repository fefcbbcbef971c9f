import { describe, expect, it } from 'vitest'
import {
  Float, IpldErrorCode, RECEIPT_VERSION, cidOf, decode, decodeGossipReceipt, decodeReceiptCapsule, decodeStoredReceipt, encode,
  encodeGossipReceipt, encodeReceiptCapsule, encodeStoredReceipt, parseCid, parseJson, parseReceipt, receiptCid, receiptIpld,
  receiptNotificationJson, storedReceiptIpld, toStoredReceipt, wasmReceipt, type IpldMap, type Receipt
} from '../../../src/ipld/index.js'

const RAN = parseCid('bafyrmiam267jf726fjejnhnvm4grn6ckuqrghe7qndpie27js4rhwwnwzm')
const INSTRUCTION = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
const WORKFLOW = parseCid('bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre')
const receipt: Receipt = wasmReceipt(RAN, 'add_one', 42)

describe('hashed receipt', () => {
  it('is {ran, out, meta, iss, prf} with Homestar values for a Wasm task', () => {
    expect(receiptIpld(receipt)).toEqual({ ran: RAN, out: ['ok', 42], meta: { op: 'add_one' }, iss: null, prf: [] })
    expect(receiptCid(receipt).equals(cidOf(receiptIpld(receipt)))).toBe(true)
  })

  it('parseReceipt validates strictly', () => {
    expect(parseReceipt(receiptIpld(receipt))).toEqual(receipt)
    const bad: Array<[string, IpldMap]> = [
      ['ran not a link', { ...receiptIpld(receipt), ran: RAN.toString() }],
      ['out not a pair', { ...receiptIpld(receipt), out: ['ok'] }],
      ['out with an unknown tag', { ...receiptIpld(receipt), out: ['fine', 1] }],
      ['meta not a map', { ...receiptIpld(receipt), meta: [] }],
      ['iss a number', { ...receiptIpld(receipt), iss: 5 }],
      ['prf with a string', { ...receiptIpld(receipt), prf: ['x'] }],
      ['an extra key', { ...receiptIpld(receipt), version: RECEIPT_VERSION }]
    ]
    for (const [, value] of bad) expect(() => parseReceipt(value)).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_RECEIPT }))
    const { prf: _, ...missing } = receiptIpld(receipt)
    expect(() => parseReceipt(missing)).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_RECEIPT }))
  })
})

describe('runtime (stored) receipt', () => {
  it('round-trips through DAG-CBOR, floats and bytes included', () => {
    const rich = toStoredReceipt({ ...receipt, out: ['ok', { f: new Float(2), b: new Uint8Array([1]), l: INSTRUCTION }], iss: 'did:key:z6Mk' }, INSTRUCTION)
    const bytes = encodeStoredReceipt(rich)
    expect(Object.keys(decode(bytes) as object).sort()).toEqual(['cid', 'instruction', 'iss', 'meta', 'out', 'prf', 'ran', 'version'])
    const back = decodeStoredReceipt(bytes)
    expect(back).toEqual(rich)
    expect(back.cid.equals(receiptCid(rich))).toBe(true)
    expect(back.version).toBe('0.2.0')
  })

  it('rejects a receipt whose cid does not match its content', () => {
    const stored = toStoredReceipt(receipt, INSTRUCTION)
    const forged = encode({ ...storedReceiptIpld(stored), out: ['ok', 43] })
    expect(() => decodeStoredReceipt(forged)).toThrow(expect.objectContaining({
      code: IpldErrorCode.RECEIPT_CID_MISMATCH,
      data: { path: 'receipt.cid', expected: stored.cid.toString(), actual: receiptCid({ ...receipt, out: ['ok', 43] }).toString() }
    }))
  })

  it('rejects malformed runtime receipts', () => {
    const ipld = storedReceiptIpld(toStoredReceipt(receipt, INSTRUCTION))
    expect(() => decodeStoredReceipt(encode({ ...ipld, version: '0.1.0' }))).toThrow(expect.objectContaining({ code: IpldErrorCode.RECEIPT_VERSION }))
    expect(() => decodeStoredReceipt(encode({ ...ipld, instruction: 'x' }))).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_RECEIPT }))
    expect(() => decodeStoredReceipt(encode({ ...ipld, extra: 1 }))).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_RECEIPT }))
    expect(() => decodeStoredReceipt(encode([1]))).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_RECEIPT }))
    expect(() => decodeStoredReceipt(new Uint8Array([0xff]))).toThrow(expect.objectContaining({ code: IpldErrorCode.DECODE }))
  })
})

describe('DHT receipt capsule', () => {
  it('is {"ipvm/receipt": {ran, out, meta, iss, prf, version}} and decodes with the key as instruction', () => {
    const bytes = encodeReceiptCapsule(receipt)
    expect(decode(bytes)).toEqual({ 'ipvm/receipt': { ...receiptIpld(receipt), version: '0.2.0' } })
    const back = decodeReceiptCapsule(bytes, INSTRUCTION)
    expect(back).toEqual({ ...receipt, cid: receiptCid(receipt), instruction: INSTRUCTION, version: '0.2.0' })
  })

  it('rejects other capsules, versions and shapes', () => {
    const inner = { ...receiptIpld(receipt), version: '0.2.0' }
    expect(() => decodeReceiptCapsule(encode({ 'ipvm/workflow': {} }), INSTRUCTION))
      .toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_CAPSULE, data: { path: 'capsule', tag: 'ipvm/workflow' } }))
    // the first key in sorted order decides: "Timeout" sorts before "ipvm/receipt"
    expect(() => decodeReceiptCapsule(encode({ Timeout: {}, 'ipvm/receipt': inner }), INSTRUCTION)).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_CAPSULE }))
    expect(() => decodeReceiptCapsule(encode({ 'ipvm/receipt': inner, 'zz': 1 }), INSTRUCTION)).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_CAPSULE }))
    expect(() => decodeReceiptCapsule(encode({ 'ipvm/receipt': { ...inner, version: '0.3.0' } }), INSTRUCTION)).toThrow(expect.objectContaining({
      code: IpldErrorCode.RECEIPT_VERSION, message: 'record version mismatch, current version: 0.2.0'
    }))
    expect(() => decodeReceiptCapsule(encode({ 'ipvm/receipt': { ...inner, cid: RAN } }), INSTRUCTION)).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_RECEIPT }))
    expect(() => decodeReceiptCapsule(encode('x'), INSTRUCTION)).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_CAPSULE }))
  })
})

describe('gossip message', () => {
  it('is {header: {nonce}, payload: runtime receipt} and round-trips', () => {
    const stored = toStoredReceipt(receipt, INSTRUCTION)
    const nonce = new Uint8Array(12).fill(7)
    const bytes = encodeGossipReceipt(stored, nonce)
    expect(decode(bytes)).toEqual({ header: { nonce }, payload: storedReceiptIpld(stored) })
    expect(decodeGossipReceipt(bytes)).toEqual({ nonce, receipt: stored })
    const a = encodeGossipReceipt(stored)
    const b = encodeGossipReceipt(stored)
    expect(Buffer.compare(a, b)).not.toBe(0) // fresh random nonce each time
  })

  it('rejects malformed messages and forged receipts', () => {
    const stored = toStoredReceipt(receipt, INSTRUCTION)
    const payload = storedReceiptIpld(stored)
    const nonce = new Uint8Array(12)
    const cases: Array<[unknown, string]> = [
      [[1], IpldErrorCode.INVALID_MESSAGE],
      [{ payload }, IpldErrorCode.INVALID_MESSAGE],
      [{ header: { nonce }, payload, extra: 1 }, IpldErrorCode.INVALID_MESSAGE],
      [{ header: { nonce: new Uint8Array(5) }, payload }, IpldErrorCode.INVALID_MESSAGE],
      [{ header: { nonce: 'abc' }, payload }, IpldErrorCode.INVALID_MESSAGE],
      [{ header: { nonce, x: 1 }, payload }, IpldErrorCode.INVALID_MESSAGE],
      [{ header: { nonce }, payload: { ...payload, meta: { op: 'other' } } }, IpldErrorCode.RECEIPT_CID_MISMATCH],
      [{ header: { nonce }, payload: { ...payload, ran: null } }, IpldErrorCode.INVALID_RECEIPT]
    ]
    for (const [value, code] of cases) expect(() => decodeGossipReceipt(encode(value as never))).toThrow(expect.objectContaining({ code }))
    expect(() => decodeGossipReceipt(new Uint8Array([0x9f]))).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_MESSAGE }))
  })
})

describe('receipt notification', () => {
  it('is the DAG-JSON of {metadata, receipt, receipt_cid} with sorted keys', () => {
    const text = receiptNotificationJson({ name: 'run-1', replayed: true, workflowCid: WORKFLOW, receipt })
    expect(text).toBe(
      `{"metadata":{"name":"run-1","replayed":true,"workflow":{"/":"${WORKFLOW.toString()}"}},` +
      `"receipt":{"iss":null,"meta":{"op":"add_one"},"out":["ok",42],"prf":[],"ran":{"/":"${RAN.toString()}"}},` +
      `"receipt_cid":{"/":"${receiptCid(receipt).toString()}"}}`
    )
    expect((parseJson(text) as IpldMap).receipt).toEqual(receiptIpld(receipt))
  })

  it('writes error receipts, bytes and whole floats in DAG-JSON form', () => {
    const failed: Receipt = { ...receipt, out: ['error', { code: 'RUNTIME_TIMEOUT', message: 'timed out', attempts: 4 }] }
    const text = receiptNotificationJson({ name: 'n', replayed: false, workflowCid: WORKFLOW, receipt: failed, receiptCid: receiptCid(failed) })
    expect(text).toContain('"out":["error",{"attempts":4,"code":"RUNTIME_TIMEOUT","message":"timed out"}]')
    const rich: Receipt = { ...receipt, out: ['ok', [new Uint8Array([104, 105]), new Float(3)]] }
    expect(receiptNotificationJson({ name: 'n', replayed: false, workflowCid: WORKFLOW, receipt: rich })).toContain('"out":["ok",[{"/":{"bytes":"aGk"}},3.0]]')
  })
})
