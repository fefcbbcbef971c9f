import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { byteArrayJson } from '../../../src/rpc/byte-array.js'

describe('the bytes form of a notification', () => {
  it('is the JSON array of the byte values, as JSON.stringify writes it', () => {
    const every = Uint8Array.from({ length: 256 }, (_, i) => i)
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(255), every, randomBytes(100_000)]) {
      const text = byteArrayJson(bytes).toString('utf8')
      expect(text).toBe(JSON.stringify(Array.from(bytes)))
      expect(JSON.parse(text)).toEqual(Array.from(bytes))
    }
  })
})
