import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import {
  Float, cidOf, encode, parseCid, parseJson, parseWorkflow, receiptCid, receiptNotificationJson, wasmReceipt, type IpldMap, type Workflow
} from '../../src/ipld/index.js'

const FIXTURES = new URL('../fixtures/workflows/', import.meta.url)

function fixtureText (name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
}

function fixture (name: string): Workflow {
  return parseWorkflow(parseJson(fixtureText(name)))
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

describe('Homestar verified vectors (homestar.md §4.1)', () => {
  it('V1: add-one workflow CID', () => {
    expect(fixture('test-workflow-add-one.json').cid.toString()).toBe('bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre')
  })

  it('V2: add-one tasks[0].run instruction CID, which tasks[1] awaits', () => {
    const wf = fixture('test-workflow-add-one.json')
    expect(wf.tasks[0].run.cid.toString()).toBe('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
    const awaited = ((wf.tasks[1].run.input as IpldMap).args as IpldMap[])[0]['await/ok']
    expect((awaited as CID).toString()).toBe(wf.tasks[0].run.cid.toString())
  })

  it('V6: image-pipeline workflow CID', () => {
    expect(fixture('test-workflow-image-pipeline.json').cid.toString()).toBe('bafyrmiatb7idqtty56hy3hrfa6ur6qkspyrhaf6n6ynmqsntjvym47mbrq')
  })

  it('V7 and V8: image-pipeline instruction CIDs (V7 has a top-level link argument)', () => {
    const wf = fixture('test-workflow-image-pipeline.json')
    expect(wf.tasks[0].run.cid.toString()).toBe('bafyrmib46dl7oaksq4fo4oyvcqewe7ojybgchufmrpjovqto3wovsq5jjq')
    expect(wf.tasks[1].run.cid.toString()).toBe('bafyrmiekrfvz5lglddmnkm2l2tia43tagziokpamjipleen7spxizchxbu')
  })

  it('V10: add-one-part-one has the same instruction as add-one task 0', () => {
    const wf = fixture('test-workflow-add-one-part-one.json')
    expect(wf.tasks).toHaveLength(1)
    expect(wf.tasks[0].run.cid.toString()).toBe('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
  })

  it('every await in the fixtures points at an earlier task of the same workflow', () => {
    for (const name of ['test-workflow-add-one.json', 'test-workflow-image-pipeline.json']) {
      const wf = fixture(name)
      wf.tasks.slice(1).forEach((task, i) => {
        const awaited = ((task.run.input as IpldMap).args as IpldMap[])[0]['await/ok']
        expect((awaited as CID).toString()).toBe(wf.tasks[i].run.cid.toString())
      })
    }
  })
})

describe('byte-level facts behind the vectors', () => {
  it('add-one tasks[0].run encodes to the documented canonical DAG-CBOR', () => {
    const wf = fixture('test-workflow-add-one.json')
    expect(hex(encode(wf.tasks[0].run.ipld))).toBe(
      'a4626f70687761736d2f72756e636e6e6360637273637842697066733a2f2f62616679626569626b34326a7768713777327a6370653671337767746c6575677033796d6673337061356765726a6d6e616b716968687178347a7165696e707574a2646172677381016466756e63676164645f6f6e65'
    )
    expect(hex(encode(wf.tasks[0].run.ipld))).toContain('636e6e6360') // nnc: ""
  })

  it('add-one meta: fuel 18446744073709552000 is the float64 2^64', () => {
    const wf = fixture('test-workflow-add-one.json')
    const meta = wf.tasks[0].meta as IpldMap
    expect(meta.fuel).toBeInstanceOf(Float)
    expect(hex(encode(meta))).toBe('a3' + '646675656c' + 'fb43f0000000000000' + '6474696d65' + '1a000186a0' + '666d656d6f7279' + '1b0000000100000000')
  })

  it('negative control: fuel as the integer u64::MAX gives the wrong workflow CID', () => {
    const text = fixtureText('test-workflow-add-one.json').replaceAll('18446744073709552000', '18446744073709551615')
    const wf = parseWorkflow(parseJson(text))
    expect((wf.tasks[0].meta as IpldMap).fuel).toBe(18446744073709551615n)
    expect(wf.cid.toString()).toBe('bafyrmievfnqyjew4godqtyygukzdfognyuto5awjzxdssryu2bybn6jdfm')
  })

  it('JSON.parse would lose the float: the same workflow through JSON.parse hashes differently', () => {
    const viaJsonParse = parseWorkflow(JSON.parse(fixtureText('test-workflow-add-one.json')))
    expect(viaJsonParse.cid.toString()).not.toBe('bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre')
  })

  it('the workflow, task and invocation CIDs are the CIDs of their IPLD forms', () => {
    const wf = fixture('test-workflow-image-pipeline.json')
    expect(cidOf(wf.ipld).toString()).toBe(wf.cid.toString())
    for (const task of wf.tasks) {
      expect(cidOf({ task: task.ipld }).toString()).toBe(task.ran.toString())
      expect(cidOf(task.run.ipld).toString()).toBe(task.run.cid.toString())
      expect(Object.keys(task.ipld).sort()).toEqual(['cause', 'meta', 'prf', 'run'])
      expect(Object.keys(task.run.ipld).sort()).toEqual(['input', 'nnc', 'op', 'rsc'])
    }
  })
})

describe('captured Homestar receipt (homestar-observed.md, add_one(41))', () => {
  const captured = '{"metadata":{"name":"single","replayed":false,"workflow":{"/":"bafyrmif33cvjc6uzmvqxq73psguhfegsmaftgk52df6gvejpommnc6a4fu"}},' +
    '"receipt":{"iss":null,"meta":{"op":"add_one"},"out":["ok",42],"prf":[],"ran":{"/":"bafyrmiam267jf726fjejnhnvm4grn6ckuqrghe7qndpie27js4rhwwnwzm"}},' +
    '"receipt_cid":{"/":"bafyrmiahuzrehgkj7jl5a3itk4tyrsm4bl6rigzfluai33l26adctdwod4"}}'

  it('receipt_cid = cid({ran, out, meta, iss, prf}) of the Wasm receipt', () => {
    const receipt = wasmReceipt(parseCid('bafyrmiam267jf726fjejnhnvm4grn6ckuqrghe7qndpie27js4rhwwnwzm'), 'add_one', 42)
    expect(receiptCid(receipt).toString()).toBe('bafyrmiahuzrehgkj7jl5a3itk4tyrsm4bl6rigzfluai33l26adctdwod4')
  })

  it('the notification text is byte-identical to the capture', () => {
    const receipt = wasmReceipt(parseCid('bafyrmiam267jf726fjejnhnvm4grn6ckuqrghe7qndpie27js4rhwwnwzm'), 'add_one', 42)
    const text = receiptNotificationJson({
      name: 'single',
      replayed: false,
      workflowCid: parseCid('bafyrmif33cvjc6uzmvqxq73psguhfegsmaftgk52df6gvejpommnc6a4fu'),
      receipt
    })
    expect(text).toBe(captured)
  })

  it('reading the capture back gives the same receipt CID', () => {
    const value = parseJson(captured) as IpldMap
    const receipt = value.receipt as IpldMap
    expect(cidOf(receipt).toString()).toBe((value.receipt_cid as CID).toString())
  })
})
