import { readdirSync, readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import * as formatsModule from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import {
  Float, base32HexEncode, base64Encode, parseCid, receiptCid, receiptIpld, receiptNotificationJson, toDagJson, wasmReceipt, type Receipt
} from '../../../src/ipld/index.js'

const SCHEMAS = new URL('../../../schemas/', import.meta.url)
const FIXTURES = new URL('../../fixtures/workflows/', import.meta.url)
const load = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(name, SCHEMAS), 'utf8'))

const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (ajv: Ajv) => Ajv
const ajv = new Ajv({ strict: false, allErrors: true })
addFormats(ajv)
const validateWorkflow = ajv.compile(load('workflow.json'))
const validateReceipt = ajv.compile(load('receipt.json'))
const validateNotification = ajv.compile(load('receipt_notification.json'))

const LINK = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'
const WASM = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'

function task (run: Record<string, unknown> = {}, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cause: null,
    meta: { memory: 4294967296, time: 100000 },
    prf: [],
    run: { rsc: WASM, op: 'wasm/run', input: { func: 'add_one', args: [1] }, nnc: '', ...run },
    ...over
  }
}

function errorsOf (validate: typeof validateWorkflow, value: unknown): ErrorObject[] {
  expect(validate(value)).toBe(false)
  return validate.errors ?? []
}

describe('schemas/workflow.json', () => {
  it('has an $id, title and description', () => {
    const schema = load('workflow.json')
    expect(schema.$id).toBe('workflow.json')
    expect(typeof schema.title).toBe('string')
    expect(typeof schema.description).toBe('string')
  })

  it.each(readdirSync(FIXTURES).filter((f) => f.endsWith('.json')))('accepts fixture %s', (name) => {
    const ok = validateWorkflow(JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')))
    expect(validateWorkflow.errors ?? []).toEqual([])
    expect(ok).toBe(true)
  })

  it('accepts every nonce form, the three await forms, a link rsc, links, bytes, and other ops', () => {
    const workflow = {
      tasks: [
        task({ nnc: base32HexEncode(new Uint8Array(12).fill(1)) }),
        task({ nnc: base32HexEncode(new Uint8Array(16).fill(2)) }),
        task({ nnc: { '/': { bytes: base64Encode(new Uint8Array(12).fill(3)) } } }),
        task({ nnc: { '/': { bytes: base64Encode(new Uint8Array(16).fill(4)) } } }),
        task({ input: { func: 'f', args: [{ 'await/ok': { '/': LINK } }, { 'await/error': { '/': LINK } }, { 'await/*': { '/': LINK } }] } }),
        task({ rsc: { '/': 'bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq' }, input: { func: 'f', args: [{ '/': LINK }, { '/': { bytes: 'AQID' } }, [1, 'x'], { a: null }] } }),
        task({ op: ' WASM/RUN ' }),
        task({ op: 'future/op', input: 'anything' }),
        task({}, { cause: { '/': LINK }, prf: [{ '/': LINK }], meta: { fuel: null, memory: 1, time: 2, extra: true } })
      ]
    }
    expect(validateWorkflow(workflow)).toBe(true)
    expect(validateWorkflow({ tasks: [] })).toBe(true)
  })

  it.each<[string, unknown, string, string]>([
    ['no tasks', {}, '', 'required'],
    ['tasks not a list', { tasks: {} }, '/tasks', 'type'],
    ['a task without run', { tasks: [{ meta: {}, prf: [] }] }, '/tasks/0', 'required'],
    ['a task without prf', { tasks: [{ run: task().run, meta: {} }] }, '/tasks/0', 'required'],
    ['op missing', { tasks: [task({ op: undefined })] }, '/tasks/0/run', 'required'],
    ['wasm/run without func', { tasks: [task({ input: { args: [] } })] }, '/tasks/0/run/input', 'required'],
    ['wasm/run args not a list', { tasks: [task({ input: { func: 'f', args: 1 } })] }, '/tasks/0/run/input/args', 'type'],
    ['rsc not a URI', { tasks: [task({ rsc: 'not a uri' })] }, '/tasks/0/run/rsc', 'format'],
    ['uppercase base32hex nonce', { tasks: [task({ nnc: 'ABCDEFGHIJKLMNOPQRS0' })] }, '/tasks/0/run/nnc', 'pattern'],
    ['a nonce of 10 bytes', { tasks: [task({ nnc: { '/': { bytes: base64Encode(new Uint8Array(10)) } } })] }, '/tasks/0/run/nnc/~1/bytes', 'pattern'],
    ['await/ok without a link', { tasks: [task({ input: { func: 'f', args: [{ 'await/ok': LINK }] } })] }, '/tasks/0/run/input/args/0/await~1ok', 'type'],
    ['await/ok with an extra key', { tasks: [task({ input: { func: 'f', args: [{ 'await/ok': { '/': LINK }, x: 1 }] } })] }, '/tasks/0/run/input/args/0', 'additionalProperties'],
    ['a prf entry that is a string', { tasks: [task({}, { prf: [LINK] })] }, '/tasks/0/prf/0', 'type'],
    ['a cause that is a string', { tasks: [task({}, { cause: LINK })] }, '/tasks/0/cause', 'type'],
    ['a negative timeout', { tasks: [task({}, { meta: { time: -1 } })] }, '/tasks/0/meta/time', 'minimum'],
    ['a link that is not a CID string', { tasks: [task({}, { cause: { '/': 'x y' } })] }, '/tasks/0/cause/~1', 'pattern']
  ])('rejects %s with an error at its path', (_name, workflow, path, keyword) => {
    const errors = errorsOf(validateWorkflow, JSON.parse(JSON.stringify(workflow)))
    expect(errors.some((e) => e.instancePath === path && e.keyword === keyword)).toBe(true)
  })
})

describe('schemas/receipt.json and receipt_notification.json', () => {
  const ran = parseCid('bafyrmiam267jf726fjejnhnvm4grn6ckuqrghe7qndpie27js4rhwwnwzm')
  const workflowCid = parseCid('bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre')

  it('have $id, title and description', () => {
    for (const name of ['receipt.json', 'receipt_notification.json']) {
      const schema = load(name)
      expect(schema.$id).toBe(name)
      expect(typeof schema.title).toBe('string')
      expect(typeof schema.description).toBe('string')
    }
  })

  it('accept what the node writes: ok receipts with any output, and error receipts', () => {
    const receipts: Receipt[] = [
      wasmReceipt(ran, 'add_one', 42),
      wasmReceipt(ran, 'blur', new Uint8Array([1, 2, 3])),
      wasmReceipt(ran, 'f', { a: [new Float(1.0), null, ran] }),
      { ...wasmReceipt(ran, 'f', null), out: ['error', { code: 'RUNTIME_TIMEOUT', message: 'timed out after 100 ms', attempts: 4 }] }
    ]
    for (const receipt of receipts) {
      expect(validateReceipt(JSON.parse(toDagJson(receiptIpld(receipt))))).toBe(true)
      const notification = JSON.parse(receiptNotificationJson({ name: 'run', replayed: false, workflowCid, receipt }))
      expect(validateNotification(notification)).toBe(true)
    }
  })

  it('reject malformed receipts and notifications', () => {
    const receipt = JSON.parse(toDagJson(receiptIpld(wasmReceipt(ran, 'add_one', 42))))
    expect(errorsOf(validateReceipt, { ...receipt, out: ['fine', 1] }).some((e) => e.instancePath === '/out/0')).toBe(true)
    expect(errorsOf(validateReceipt, { ...receipt, out: ['ok'] }).some((e) => e.keyword === 'minItems')).toBe(true)
    expect(errorsOf(validateReceipt, { ...receipt, ran: 'bafy' }).some((e) => e.instancePath === '/ran')).toBe(true)
    expect(errorsOf(validateReceipt, { ...receipt, version: '0.2.0' }).some((e) => e.keyword === 'additionalProperties')).toBe(true)
    const good = JSON.parse(receiptNotificationJson({ name: 'n', replayed: true, workflowCid, receipt: wasmReceipt(ran, 'add_one', 42), receiptCid: receiptCid(wasmReceipt(ran, 'add_one', 42)) }))
    expect(validateNotification(good)).toBe(true)
    expect(errorsOf(validateNotification, { ...good, metadata: { name: 'n', workflow: good.metadata.workflow } }).some((e) => e.instancePath === '/metadata')).toBe(true)
    const badError = { ...good, receipt: { ...good.receipt, out: ['error', { message: 'x' }] } }
    expect(errorsOf(validateNotification, badError).some((e) => e.instancePath === '/receipt/out/1' && e.keyword === 'required')).toBe(true)
  })
})
