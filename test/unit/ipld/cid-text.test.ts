import { describe, expect, it } from 'vitest'
import { cidOf, cidText, parseCid } from '../../../src/ipld/index.js'

describe('cidText', () => {
  it('is the CID\'s string, which parses back to the same CID', () => {
    for (const value of [{ tasks: [] }, 'x', 1]) {
      const cid = cidOf(value)
      const text = cidText(cid)
      expect(text).toBe(cid.toString())
      expect(parseCid(text).equals(cid)).toBe(true)
    }
  })
})
