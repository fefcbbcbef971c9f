import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  IpldErrorCode, awaitedInstructions, classifyArg, parseCid, parseJson, parseWasmRunInput, parseWorkflow, resourceLinks, type Ipld
} from '../../../src/ipld/index.js'

const LINK = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
const IMAGE = parseCid('bafybeiejevluvtoevgk66plh5t6xiy3ikyuuxg3vgofuvpeckb6eadresm')

describe('classifyArg (Homestar §2.3 order)', () => {
  it('["ok"|"error"|"just", v] is a resolved result whose value is v', () => {
    expect(classifyArg(['ok', 5])).toEqual({ kind: 'result', tag: 'ok', value: 5 })
    expect(classifyArg(['error', { a: 1 }])).toEqual({ kind: 'result', tag: 'error', value: { a: 1 } })
    expect(classifyArg(['just', null])).toEqual({ kind: 'result', tag: 'just', value: null })
  })

  it('other lists are literals', () => {
    for (const value of [['ok'], ['ok', 1, 2], ['other', 1], [1, 'ok'], ['OK', 1]] as Ipld[]) {
      expect(classifyArg(value)).toEqual({ kind: 'literal', value })
    }
  })

  it('await/ok, await/error and await/* maps are awaits of the linked instruction', () => {
    expect(classifyArg({ 'await/ok': LINK })).toEqual({ kind: 'await', branch: 'ok', cid: LINK })
    expect(classifyArg({ 'await/error': LINK })).toEqual({ kind: 'await', branch: 'error', cid: LINK })
    expect(classifyArg({ 'await/*': LINK })).toEqual({ kind: 'await', branch: '*', cid: LINK })
  })

  it('any single-key map whose value is a link is an await/* (Homestar quirk)', () => {
    expect(classifyArg({ x: LINK })).toEqual({ kind: 'await', branch: '*', cid: LINK })
  })

  it('await keys without a link, or with extra keys, are literals', () => {
    for (const value of [{ 'await/ok': 'bafy' }, { 'await/ok': LINK, y: 1 }, {}] as Ipld[]) {
      expect(classifyArg(value)).toEqual({ kind: 'literal', value })
    }
  })

  it('a bare link, bytes and scalars are literals', () => {
    expect(classifyArg(IMAGE)).toEqual({ kind: 'literal', value: IMAGE })
    expect(classifyArg(new Uint8Array([1]))).toEqual({ kind: 'literal', value: new Uint8Array([1]) })
    expect(classifyArg('x')).toEqual({ kind: 'literal', value: 'x' })
  })
})

describe('parseWasmRunInput', () => {
  it('reads func and args of the image pipeline, with its resource link and await', () => {
    const text = readFileSync(new URL('../../fixtures/workflows/test-workflow-image-pipeline.json', import.meta.url), 'utf8')
    const wf = parseWorkflow(parseJson(text))
    const first = parseWasmRunInput(wf.tasks[0].run)
    expect(first.func).toBe('crop')
    expect(first.args.map((a) => a.kind)).toEqual(['literal', 'literal', 'literal', 'literal', 'literal'])
    expect(resourceLinks(first.args).map(String)).toEqual([IMAGE.toString()])
    const second = parseWasmRunInput(wf.tasks[1].run)
    expect(second.func).toBe('rotate90')
    expect(awaitedInstructions(second.args).map(String)).toEqual([wf.tasks[0].run.cid.toString()])
    expect(resourceLinks(second.args)).toEqual([])
  })

  it('does not count nested links or awaits as resources', () => {
    const parsed = parseWasmRunInput({ input: { func: 'f', args: [[IMAGE], { a: IMAGE, b: 1 }, { 'await/ok': LINK }, IMAGE] } })
    expect(resourceLinks(parsed.args).map(String)).toEqual([IMAGE.toString()])
  })

  it.each<[string, Ipld, string]>([
    ['input not a map', [1, 2], 'input'],
    ['a result list as input', ['ok', { func: 'f', args: [] }], 'input'],
    ['an await map as input', { 'await/ok': LINK }, 'input'],
    ['an await key next to func and args', { 'await/ok': LINK, func: 'f', args: [] }, 'input'],
    ['missing func', { args: [] }, 'input'],
    ['missing args', { func: 'f' }, 'input'],
    ['args not a list', { func: 'f', args: { a: 1 } }, 'input.args'],
    ['func not a string', { func: 5, args: [] }, 'input.func']
  ])('rejects %s', (_name, input, path) => {
    expect(() => parseWasmRunInput({ input })).toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_INPUT, data: { path } }))
  })
})
