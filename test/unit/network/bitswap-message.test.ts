import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { lengthPrefixed, readLengthPrefixed } from '../../../src/network/wire/framing.js'
import { blockMatches, cidFromPrefix, cidPrefix } from '../../../src/network/bitswap/hashing.js'
import { BlockPresenceType, decodeMessage, emptyMessage, encodeMessage, WantType } from '../../../src/network/bitswap/message.js'
import { NetworkErrorCode } from '../../../src/network/index.js'
import { sha3 } from '../../e2e/network/helpers.js'
import { asStream } from '../../utils/store.js'

function chunks (...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  return asStream(parts)
}

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const item of source) out.push(item)
  return out
}

describe('network: bitswap wire format', () => {
  it('encodes a wantlist entry as go-bitswap does', async () => {
    const cid = CID.createV1(raw.code, await sha256.digest(new Uint8Array([1])))
    const message = emptyMessage()
    message.wantlist.entries.push({ cid: cid.bytes, priority: 1, cancel: false, wantType: WantType.HAVE, sendDontHave: true })
    const bytes = encodeMessage(message)
    // field 1 (wantlist) → field 1 (entry) → block(1) = cid bytes, priority(2) = 1, wantType(4) = 1, sendDontHave(5) = 1.
    const entry = [0x0a, cid.bytes.length, ...cid.bytes, 0x10, 0x01, 0x20, 0x01, 0x28, 0x01]
    expect([...bytes]).toEqual([0x0a, entry.length + 2, 0x0a, entry.length, ...entry])
  })

  it('round-trips every field', async () => {
    const data = dagCbor.encode({ a: 1 })
    const cid = CID.createV1(dagCbor.code, await sha3.digest(data))
    const message = emptyMessage()
    message.wantlist = { entries: [{ cid: cid.bytes, priority: 7, cancel: true, wantType: WantType.BLOCK, sendDontHave: false }], full: true }
    message.payload.push({ prefix: cidPrefix(cid), data })
    message.blockPresences.push({ cid: cid.bytes, type: BlockPresenceType.DONT_HAVE })
    message.pendingBytes = 300
    expect(decodeMessage(encodeMessage(message))).toEqual(message)
  })

  it('rejects truncated messages', () => {
    expect(() => decodeMessage(new Uint8Array([0x0a, 0x05, 0x01]))).toThrow(RangeError)
  })

  it('rebuilds and verifies CIDs from prefixes (v1 sha3, v0 sha2)', async () => {
    const data = dagCbor.encode({ hello: 'world' })
    const cid = CID.createV1(dagCbor.code, await sha3.digest(data))
    expect((await cidFromPrefix(cidPrefix(cid), data)).equals(cid)).toBe(true)
    expect(await blockMatches(cid, data)).toBe(true)
    expect(await blockMatches(cid, new Uint8Array([1]))).toBe(false)
    const v0 = CID.createV0(await sha256.digest(data))
    expect((await cidFromPrefix(cidPrefix(v0), data)).equals(v0)).toBe(true)
    await expect(cidFromPrefix(new Uint8Array([1, 0x55, 0xa0, 0xe4, 0x02, 0x20]) /* blake2b-256 */, data)).rejects.toMatchObject({ code: NetworkErrorCode.UNSUPPORTED_HASH })
    await expect(cidFromPrefix(new Uint8Array([1, 0x55]), data)).rejects.toMatchObject({ code: NetworkErrorCode.INVALID_MESSAGE })
  })

  it('reads length-prefixed messages split across chunks and bounds their size', async () => {
    const one = lengthPrefixed(new Uint8Array([1, 2, 3]))
    const two = lengthPrefixed(new Uint8Array(200).fill(9))
    const joined = new Uint8Array([...one, ...two])
    const split = [joined.subarray(0, 2), joined.subarray(2, 5), joined.subarray(5, 6), joined.subarray(6)]
    expect(await collect(readLengthPrefixed(chunks(...split), 1024))).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array(200).fill(9)])
    await expect(collect(readLengthPrefixed(chunks(two), 100))).rejects.toMatchObject({ code: NetworkErrorCode.INVALID_MESSAGE })
    await expect(collect(readLengthPrefixed(chunks(one.subarray(0, 2)), 100))).rejects.toMatchObject({ code: NetworkErrorCode.INVALID_MESSAGE })
  })

  it('reads large messages cut into chunks of any size, a length prefix cut too', async () => {
    const messages = [new Uint8Array(70_000).map((_, i) => i % 251), new Uint8Array([7]), new Uint8Array(20_000).fill(3), new Uint8Array(128).fill(1)]
    const stream = new Uint8Array(messages.reduce((n, m) => n + lengthPrefixed(m).length, 0))
    let at = 0
    for (const m of messages) { stream.set(lengthPrefixed(m), at); at += lengthPrefixed(m).length }
    for (const size of [3, 7, 4096, 65_536, stream.length]) {
      const cut: Uint8Array[] = []
      for (let i = 0; i < stream.length; i += size) cut.push(stream.subarray(i, i + size))
      expect(await collect(readLengthPrefixed(asStream(cut), 1 << 20)), `chunks of ${size}`).toEqual(messages)
    }
  })
})
