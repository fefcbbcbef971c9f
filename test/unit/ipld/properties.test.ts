import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  Float, cidOf, decode, encode, ipldEquals, parseJson, parseWorkflow, toDagJson, type Ipld
} from '../../../src/ipld/index.js'
import { ipldArb, workflowArb, writeShuffled } from './arbitraries.js'

const RUNS = { numRuns: 300 }

/** What JSON.parse would give for the same text: floats and bigints as plain numbers. */
function toJs (value: Ipld): unknown {
  if (value instanceof Float) return value.value
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(toJs)
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: toJs(v as Ipld), enumerable: true, configurable: true, writable: true })
    return out
  }
  return value
}

describe('DAG-CBOR properties', () => {
  it('decode(encode(v)) is v, Float/bigint/bytes/links included', () => {
    fc.assert(fc.property(ipldArb(), (value) => {
      const bytes = encode(value)
      const back = decode(bytes)
      expect(ipldEquals(back, value)).toBe(true)
      expect(Buffer.compare(encode(back), bytes)).toBe(0)
    }), RUNS)
  })

  it('CIDs survive a store/load round trip', () => {
    fc.assert(fc.property(ipldArb(), (value) => {
      expect(cidOf(decode(encode(value))).equals(cidOf(value))).toBe(true)
    }), RUNS)
  })
})

describe('DAG-JSON properties', () => {
  it('parseJson(toDagJson(v)) is v', () => {
    fc.assert(fc.property(ipldArb({ jsonSafe: true }), (value) => {
      const back = parseJson(toDagJson(value))
      expect(ipldEquals(back, value)).toBe(true)
    }), RUNS)
  })

  it('the reader agrees with JSON.parse where JavaScript semantics coincide', () => {
    fc.assert(fc.property(fc.json({ maxDepth: 4 }), (text) => {
      fc.pre(!text.includes('"/"'))
      expect(toJs(parseJson(text))).toEqual(JSON.parse(text))
    }), RUNS)
  })

  it('the reader agrees with JSON.parse on arbitrary whitespace and unicode strings', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(0, 2, '\t'), (value, indent) => {
      const text = JSON.stringify(value, null, indent)
      fc.pre(!text.includes('"/"'))
      expect(toJs(parseJson(text))).toEqual(JSON.parse(text))
    }), RUNS)
  })
})

describe('workflow CID properties', () => {
  it('CIDs do not depend on key order or whitespace of the input JSON', () => {
    fc.assert(fc.property(workflowArb, fc.integer(), (workflow, seed) => {
      let state = seed
      const random = (): number => {
        state = (Math.imul(state, 1103515245) + 12345) | 0
        return ((state >>> 8) & 0xffff) / 0x10000
      }
      const a = parseWorkflow(parseJson(toDagJson(workflow)))
      const b = parseWorkflow(parseJson(writeShuffled(workflow, random)))
      expect(b.cid.toString()).toBe(a.cid.toString())
      expect(b.tasks.map((t) => t.ran.toString())).toEqual(a.tasks.map((t) => t.ran.toString()))
      expect(b.tasks.map((t) => t.run.cid.toString())).toEqual(a.tasks.map((t) => t.run.cid.toString()))
    }), { numRuns: 150 })
  })

  it('the composed task, invocation and workflow bytes equal a full encode of the IPLD forms', () => {
    fc.assert(fc.property(workflowArb, (workflow) => {
      const wf = parseWorkflow(workflow)
      expect(cidOf(wf.ipld).equals(wf.cid)).toBe(true)
      for (const task of wf.tasks) {
        expect(cidOf({ task: task.ipld }).equals(task.ran)).toBe(true)
        expect(cidOf(task.run.ipld).equals(task.run.cid)).toBe(true)
      }
      // the normalized form is a fixed point: parsing it again gives the same CIDs
      expect(parseWorkflow(decode(encode(wf.ipld))).cid.equals(wf.cid)).toBe(true)
    }), { numRuns: 150 })
  })
})
