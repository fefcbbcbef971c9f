import { Record as KadRecord } from '@libp2p/kad-dht'
import type { Libp2p } from 'libp2p'
import { equals } from 'multiformats/bytes'
import { afterEach, describe, expect, it } from 'vitest'
import { KAD_PROTOCOL } from '../../../src/network/index.js'
import { lengthPrefixed, readLengthPrefixed } from '../../../src/network/wire/framing.js'
import { ProtoWriter, readFields, WireType } from '../../../src/network/wire/protobuf.js'
import { eventsOf, makeReceipt, startNode, stopAll, waitUntil, type TestReceipt } from './helpers.js'
import { barePeer, stopRawPeers } from '../../utils/raw-peer.js'

const PUT_VALUE = 0
const GET_VALUE = 1

/**
 * A peer that identifies as Homestar 0.3.0 and answers Kademlia GET_VALUE requests for the
 * records it holds under the bare instruction CID, as Homestar does (kad-dht cannot: it
 * refuses keys without a `/<namespace>/`), and takes every PUT_VALUE. `asked` lists the keys
 * it was asked for, `put` the records it was given.
 */
async function homestarLikePeer (records: TestReceipt[]): Promise<{ node: Libp2p, asked: Uint8Array[], put: Array<{ key: Uint8Array, value: Uint8Array }> }> {
  const asked: Uint8Array[] = []
  const put: Array<{ key: Uint8Array, value: Uint8Array }> = []
  const node = await barePeer({ name: 'homestar-runtime', version: '0.3.0', userAgent: 'homestar-runtime/0.3.0' })
  await node.handle(KAD_PROTOCOL, (stream) => {
    void (async () => {
      for await (const request of readLengthPrefixed(stream, 64 * 1024)) {
        let type = 0
        let key: Uint8Array = new Uint8Array(0)
        let record: Uint8Array | undefined
        for (const field of readFields(request)) {
          if (field.field === 1 && field.wireType === WireType.VARINT) type = field.uint
          if (field.field === 2 && field.wireType === WireType.LENGTH_DELIMITED) key = field.bytes
          if (field.field === 3 && field.wireType === WireType.LENGTH_DELIMITED) record = field.bytes
        }
        const answer = new ProtoWriter().uint(1, type).bytes(2, key)
        if (type === PUT_VALUE && record !== undefined) {
          // stored, and echoed as Kademlia does
          put.push({ key, value: KadRecord.deserialize(record).value })
          answer.bytes(3, record)
        }
        if (type === GET_VALUE) {
          asked.push(key)
          const held = records.find(r => equals(r.instruction.bytes, key))
          if (held !== undefined) answer.bytes(3, new KadRecord(key, held.dhtBytes, new Date()).serialize())
        }
        stream.send(lengthPrefixed(answer.finish()))
        break
      }
      await stream.close()
    })().catch(err => { stream.abort(err as Error) })
  })
  return { node, asked, put }
}

afterEach(async () => {
  await stopAll()
  await stopRawPeers()
})

describe('network: receipt records a Homestar peer holds under the bare instruction CID', () => {
  it('are found with a direct GET_VALUE, announced as got_receipt_dht from that peer, and counted', async () => {
    const receipt = await makeReceipt(31)
    const homestar = await homestarLikePeer([receipt])
    const node = await startNode({ trust: 'any', peers: [homestar.node.getMultiaddrs()[0].toString()] })
    // the peer counts as Homestar once identify has told its agent: poll until the lookup asks it
    const found = await waitUntil(async () => await node.network.findReceipt(receipt.instruction, { timeoutMs: 2000 }) ?? false, 10_000, 'the record from the Homestar peer')
    expect(found.cid.equals(receipt.cid)).toBe(true)
    expect(found.publisher).toBe(homestar.node.peerId.toString())
    expect(homestar.asked.some(key => equals(key, receipt.instruction.bytes))).toBe(true)
    expect(eventsOf(node, 'got_receipt_dht')).toEqual([expect.objectContaining({ cid: receipt.cid.toString(), publisher: homestar.node.peerId.toString(), ran: receipt.ran.toString() })])
    expect(node.metrics.dht.get('get_receipt:ok')).toBe(1)
    const stored = await node.exchange.waitFor(r => r.cid.equals(receipt.cid))
    expect(stored.vouchers).toEqual([{ peer: homestar.node.peerId.toString(), via: 'dht', signed: false }])
  })

  it('vouch for nobody under network.trust = "trusted", even from a trusted peer: asked, not taken, not announced', async () => {
    const receipt = await makeReceipt(32)
    const homestar = await homestarLikePeer([receipt])
    // a peer named in `peers` is trusted; its unsigned record still says nothing about who computed it
    const node = await startNode({ trust: 'trusted', peers: [homestar.node.getMultiaddrs()[0].toString()] })
    await waitUntil(async () => {
      expect(await node.network.findReceipt(receipt.instruction, { timeoutMs: 2000 })).toBeNull()
      return homestar.asked.some(key => equals(key, receipt.instruction.bytes))
    }, 10_000, 'the Homestar peer to be asked')
    expect(eventsOf(node, 'got_receipt_dht')).toEqual([])
    expect(node.exchange.received).toEqual([])
  })

  it('are what this node puts on a Homestar peer for a receipt it computed: Homestar\'s capsule, unsigned, under the bare instruction CID', async () => {
    const receipt = await makeReceipt(33)
    const homestar = await homestarLikePeer([])
    const node = await startNode({ peers: [homestar.node.getMultiaddrs()[0].toString()] })
    const computed = { ran: receipt.ran, out: ['ok', 34] as ['ok', number], meta: { op: 'add_one' }, iss: null, prf: [] }
    // the peer counts as Homestar once identify has told its agent
    await waitUntil(async () => {
      await node.network.announceReceipt(computed, receipt.instruction)
      return homestar.put.some(r => equals(r.key, receipt.instruction.bytes))
    }, 10_000, 'a put under the bare instruction CID')
    const bare = homestar.put.filter(r => equals(r.key, receipt.instruction.bytes))
    for (const r of bare) expect(r.value).toEqual(receipt.dhtBytes)
  })
})
