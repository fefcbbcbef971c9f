import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { JsonSpan, cborNestingExceeds, scanFrame } from '../../../src/rpc/index.js'
import { encode } from '../../../src/ipld/index.js'

/** A span over a whole text, whitespace around it left out. */
function only (text: string): JsonSpan {
  const start = text.length - text.trimStart().length
  return new JsonSpan(text, start, text.trimEnd().length)
}

const spaced = (value: unknown): string => JSON.stringify(value, null, 1)

describe('scanFrame', () => {
  it('finds each request of a batch by its text, whitespace trimmed, and a single request as the whole text', () => {
    const text = ' [ {"a": "],[" } ,\n 2 , "x\\"]" ,[1,[2]] ] '
    const scan = scanFrame(text, 64)
    expect(scan.kind).toBe('message')
    if (scan.kind !== 'message') return
    expect(scan.batch).toBe(true)
    expect(scan.items.map(i => i.raw)).toEqual(['{"a": "],[" }', '2', '"x\\"]"', '[1,[2]]'])
    expect(scan.items.map(i => i.kind)).toEqual(['object', 'number', 'string', 'array'])
    for (const [text, raw] of [[' {"jsonrpc":"2.0"}\n', '{"jsonrpc":"2.0"}'], ['12', '12'], ['"s"', '"s"']]) {
      const one = scanFrame(text, 64)
      expect(one.kind === 'message' && !one.batch && one.items.map(i => i.raw)).toEqual([raw])
    }
    const empty = scanFrame('[ ]', 64)
    expect(empty.kind === 'message' && empty.batch && empty.items.length === 0).toBe(true)
  })

  it('is malformed when it cannot follow the text: unclosed, trailing text, empty elements, a batch closed by }', () => {
    for (const text of ['', '  ', '[1,,2]', '[,1]', '[1,]', '{"a":1} x', '{"a":1', '[1', '"abc', '[1}', '{"a":1}}', '1 2', ']']) {
      expect(scanFrame(text, 64).kind, text).toBe('malformed')
    }
  })

  it('counts nesting outside strings only, with the same limit for a batch and a single request', () => {
    const nested = (d: number): string => '['.repeat(d) + ']'.repeat(d)
    expect(scanFrame(nested(3), 3).kind).toBe('message')
    expect(scanFrame(nested(4), 3).kind).toBe('too_deep')
    expect(scanFrame(`{"a":${nested(2)}}`, 3).kind).toBe('message')
    expect(scanFrame(`{"a":${nested(3)}}`, 3).kind).toBe('too_deep')
    expect(scanFrame(JSON.stringify({ s: '[[[[{{{{', t: 'quote \\" [[[' }), 1).kind).toBe('message')
    // deeper than the limit is found before the end of an unclosed text
    expect(scanFrame('['.repeat(2_000_000), 64).kind).toBe('too_deep')
  })

  it('agrees with JSON.parse on what each request is', () => {
    fc.assert(fc.property(fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 6 }), values => {
      const scan = scanFrame(spaced(values), 64)
      expect(scan.kind).toBe('message')
      if (scan.kind !== 'message') return
      expect(scan.items.map(i => JSON.parse(i.raw) as unknown)).toEqual(JSON.parse(JSON.stringify(values)))
    }), { numRuns: 300 })
  })
})

describe('JsonSpan', () => {
  it('reads members (the last of a repeated key, as JSON.parse does), escaped keys, elements and counts', () => {
    const o = only('{"id": 1e400, "method":"health", "m\\u0065thod": "node", "params": [ {"a": [1, [2, 3], {"b": ","}, "]"]} ], "id": "x\\"y"}')
    expect(o.member('id')?.raw).toBe('"x\\"y"')
    expect(o.member('method')?.string()).toBe('node')
    expect(o.member('missing')).toBeUndefined()
    const [id, method, params] = o.members(['id', 'method', 'params'])
    expect([id?.raw, method?.raw, params?.kind]).toEqual(['"x\\"y"', '"node"', 'array'])
    expect(params?.element(0)?.member('a')?.count()).toBe(4)
    expect(params?.element(1)).toBeUndefined()
    expect(only('[]').count()).toBe(0)
    expect(only('[ ]').count()).toBe(0)
    expect(only('{"a": 1}').count()).toBeUndefined()
    expect(only('"' + 'x'.repeat(2000) + '"').string(1024)).toBeUndefined()
  })

  it('countAt: one pass, several paths, the last occurrence of a key counts', () => {
    const paths = [[0, 'workflow', 'tasks'], ['run', 'workflow', 'tasks'], ['workflow', 'tasks']]
    expect(only('[{"name":"n","workflow":{"tasks":[{},{},{"x":[1,2]}]}}]').countAt(paths)).toEqual([3, undefined, undefined])
    expect(only('{"run":{"workflow":{"tasks":[]}}}').countAt(paths)).toEqual([undefined, 0, undefined])
    expect(only('{"workflow":{"tasks":[1,2]}}').countAt(paths)).toEqual([undefined, undefined, 2])
    // a repeated key: JSON.parse keeps the last one, and so does the count
    expect(only('{"workflow":{"tasks":[1,2,3,4,5]},"workflow":{"tasks":[1]}}').countAt(paths)[2]).toBe(1)
    expect(only('{"workflow":{"tasks":[1]},"workflow":{"tasks":[1,2,3,4,5]}}').countAt(paths)[2]).toBe(5)
    expect(only('{"workflow":{"tasks":[1,2,3]},"workflow":7}').countAt(paths)[2]).toBeUndefined()
    expect(only('{"workflow":{"tasks":[1,2,3],"tasks":{}}}').countAt(paths)[2]).toBeUndefined()
    // tasks that are not an array, or a path through a scalar
    expect(only('[{"workflow":{"tasks":"[1,2]"}}]').countAt(paths)[0]).toBeUndefined()
    expect(only('[[1,2,3]]').countAt(paths)[0]).toBeUndefined()
  })

  it('countAt agrees with JSON.parse on any value', () => {
    const arb = fc.record({ workflow: fc.record({ tasks: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 20 }), other: fc.jsonValue({ maxDepth: 3 }) }), name: fc.string() })
    fc.assert(fc.property(arb, fc.boolean(), (run, positional) => {
      const params = positional ? [run] : run
      const [a, , c] = only(spaced(params)).countAt([[0, 'workflow', 'tasks'], ['run', 'workflow', 'tasks'], ['workflow', 'tasks']])
      expect(positional ? a : c).toBe(run.workflow.tasks.length)
    }), { numRuns: 300 })
  })
})

describe('cborNestingExceeds', () => {
  const deep = (d: number): unknown => { let v: unknown = 1; for (let i = 0; i < d; i++) v = [v]; return v }

  it('counts arrays and maps as JSON does, tags add none, without recursion', () => {
    expect(cborNestingExceeds(encode(deep(3) as never), 3)).toBe(false)
    expect(cborNestingExceeds(encode(deep(4) as never), 3)).toBe(true)
    expect(cborNestingExceeds(encode({ a: [{ b: [] }] }), 4)).toBe(false)
    expect(cborNestingExceeds(encode({ a: [{ b: [] }] }), 3)).toBe(true)
    // siblings do not add up, and a closed container gives its level back
    expect(cborNestingExceeds(encode([[1], [2], { x: [3] }, 4] as never), 3)).toBe(false)
    // 100 000 levels of 0x81 (an array of one) and no stack
    const bytes = new Uint8Array(100_001).fill(0x81)
    bytes[100_000] = 0x01
    expect(cborNestingExceeds(bytes, 64)).toBe(true)
    // what the decoder refuses anyway (cut short, indefinite length) is not called too deep
    expect(cborNestingExceeds(Uint8Array.of(0x9f, 0x01, 0xff), 64)).toBe(false)
    expect(cborNestingExceeds(Uint8Array.of(0x82, 0x01), 64)).toBe(false)
  })

  it('agrees with the nesting of the value', () => {
    const depthOf = (v: unknown): number => Array.isArray(v) ? 1 + Math.max(0, ...v.map(depthOf)) : v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }).filter(v => JSON.stringify(v) !== undefined && !JSON.stringify(v).includes('.') && !JSON.stringify(v).includes('e')), fc.integer({ min: 1, max: 7 }), (value, limit) => {
      const clean = JSON.parse(JSON.stringify(value).replace(/-0\b/g, '0')) as never
      expect(cborNestingExceeds(encode(clean), limit)).toBe(depthOf(clean) > limit)
    }), { numRuns: 300 })
  })
})
