import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cidOf, encodeGossipReceipt, encodeReceiptCapsule, toStoredReceipt, wasmReceipt } from '../../../src/ipld/index.js'
import { KAD_PROTOCOL, RECEIPTS_TOPIC, receiptRecordKey } from '../../../src/network/index.js'
import { putValueTo } from '../../../src/network/kad-put.js'
import { multiaddr } from '@multiformats/multiaddr'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { rawPeer, stopRawPeers } from '../../utils/raw-peer.js'
import { waitUntil } from '../../utils/wait.js'
import { metricValue } from '../../utils/metrics.js'
import { heldBytes } from '../../utils/held-memory.js'

const MIB = 1024 * 1024

/** A receipt for a made-up instruction `n` whose output is `size` bytes of text. */
function madeUp (n: number, size: number): { instruction: ReturnType<typeof cidOf>, receipt: ReturnType<typeof wasmReceipt> } {
  const instruction = cidOf({ op: 'wasm/run', nnc: '', rsc: 'ipfs://made-up', input: { args: [n], func: 'f' } })
  const ran = cidOf({ task: { run: instruction, meta: {}, prf: [], cause: null } })
  return { instruction, receipt: wasmReceipt(ran, 'f', 'x'.repeat(size)) }
}

describe('a peer flooding the node stays within its caps', () => {
  let node: TestNode
  const caps = { max_dht_records: 1000, max_dht_record_bytes: 8 * MIB, max_receipt_candidates: 500, max_receipt_candidate_bytes: 2 * MIB }

  beforeAll(async () => {
    node = await startTestNode({ config: { network: caps } })
  }, 30_000)
  afterAll(async () => {
    await stopRawPeers()
    await node?.close()
  })

  it('300 DHT records of 1 MB and 6,000 made-up receipts cost at most the documented caps, and nothing on disk', async () => {
    const hostile = await rawPeer()
    await hostile.dial(multiaddr(node.node.multiaddrs[0]))
    await waitUntil(() => hostile.services.pubsub.getSubscribers(RECEIPTS_TOPIC).length > 0, 10_000, 'subscribed')
    await new Promise(resolve => setTimeout(resolve, 300))
    const victim = peerIdFromString(node.node.peerId)
    const sizeBefore = await metricValue(node, 'ipvm_store_size_bytes')
    let sent = 0
    const flood = async (from: number, records: number, receipts: number): Promise<void> => {
      for (let i = 0; i < records; i++) {
        const { instruction, receipt } = madeUp(from + i, MIB)
        const record = encodeReceiptCapsule(receipt)
        sent += record.byteLength
        await putValueTo(hostile, victim, KAD_PROTOCOL, receiptRecordKey(instruction), record, AbortSignal.timeout(10_000))
      }
      for (let i = 0; i < receipts; i++) {
        const { instruction, receipt } = madeUp(from + 10_000 + i, i % 100 === 0 ? 64 * 1024 : 100)
        await hostile.services.pubsub.publish(RECEIPTS_TOPIC, encodeGossipReceipt(toStoredReceipt(receipt, instruction)))
      }
    }
    // a first, smaller flood fills what stays allocated whatever comes (buffer pools, the
    // cipher's memory, caches reaching their size); the caps are judged on what a larger one adds
    await flood(0, 20, 400)
    const before = await heldBytes()
    sent = 0
    for (const from of [100_000, 200_000, 300_000]) await flood(from, 100, 2000)
    // one record past the per-record limit (4 MiB) is refused before it is decoded
    const { instruction: big, receipt: huge } = madeUp(1000, 5 * MIB)
    await expect(putValueTo(hostile, victim, KAD_PROTOCOL, receiptRecordKey(big), encodeReceiptCapsule(huge), AbortSignal.timeout(10_000))).rejects.toThrow()
    await waitUntil(async () => await metricValue(node, 'ipvm_peer_input_dropped_total', { kind: 'candidate_evicted' }) > 0, 20_000, 'candidates evicted')

    expect(await metricValue(node, 'ipvm_dht_record_bytes')).toBeLessThanOrEqual(caps.max_dht_record_bytes)
    expect(await metricValue(node, 'ipvm_peer_input_dropped_total', { kind: 'dht_record_evicted' })).toBeGreaterThan(0)
    expect(await metricValue(node, 'ipvm_receipt_candidates')).toBeLessThanOrEqual(caps.max_receipt_candidates)
    expect(await metricValue(node, 'ipvm_receipts_from_peers_total')).toBe(0)
    // what the node holds grew by at most its caps (and slack for buffers sockets still hold
    // and everything else alive in this process), not by the ~300 MB it was sent
    const grown = await heldBytes() - before
    expect(sent).toBeGreaterThan(300 * MIB)
    expect(grown).toBeLessThan(caps.max_dht_record_bytes + caps.max_receipt_candidate_bytes + 48 * MIB)
    // nothing a stranger sent reached the disk
    expect(await metricValue(node, 'ipvm_store_size_bytes') - sizeBefore).toBeLessThan(MIB)
  }, 120_000)
})
