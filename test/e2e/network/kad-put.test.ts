import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { tcp } from '@libp2p/tcp'
import * as dagCbor from '@ipld/dag-cbor'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { KAD_PROTOCOL, receiptRecordKey } from '../../../src/network/index.js'
import { receiptRecordRules } from '../../../src/network/dht.js'
import { putValueTo } from '../../../src/network/kad-put.js'
import { makeReceipt, TestExchange } from './helpers.js'

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async (n) => { await n.stop() })) })

async function dhtNode (): Promise<{ node: Libp2p<{ dht: KadDHT, identify: Identify, ping: Ping }>, invalid: unknown[] }> {
  const invalid: unknown[] = []
  const { validators, selectors } = receiptRecordRules(new TestExchange(), 4 * 1024 * 1024, (err) => { invalid.push(err) })
  const node = await createLibp2p<{ dht: KadDHT, identify: Identify, ping: Ping }>({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dht: kadDHT({ protocol: KAD_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper, validators, selectors, initialQuerySelfInterval: 0 }) }
  })
  nodes.push(node)
  return { node, invalid }
}

async function localValue (dht: KadDHT, key: Uint8Array): Promise<Uint8Array | undefined> {
  for await (const event of dht.get(key, { useNetwork: false, signal: AbortSignal.timeout(2000) })) {
    if (event.name === 'VALUE') return event.value
  }
  return undefined
}

describe('network: direct Kademlia PUT_VALUE', () => {
  it('stores a valid record on the peer, which kad-dht then serves', async () => {
    const sender = await dhtNode()
    const receiver = await dhtNode()
    const receipt = await makeReceipt(11)
    const key = receiptRecordKey(receipt.instruction)
    await sender.node.dial(receiver.node.getMultiaddrs()[0])
    const stored = await putValueTo(sender.node, receiver.node.peerId, KAD_PROTOCOL, key, receipt.dhtBytes, AbortSignal.timeout(5000))
    expect(stored).toBe(true)
    expect(await localValue(receiver.node.services.dht, key)).toEqual(receipt.dhtBytes)
  })

  it('is refused by the peer\'s validator for an invalid record', async () => {
    const sender = await dhtNode()
    const receiver = await dhtNode()
    const receipt = await makeReceipt(12)
    const key = receiptRecordKey(receipt.instruction)
    await sender.node.dial(receiver.node.getMultiaddrs()[0])
    const bad = dagCbor.encode({ 'ipvm/receipt': { version: '0.2.0', ran: 'not a link' } })
    const outcome = await putValueTo(sender.node, receiver.node.peerId, KAD_PROTOCOL, key, bad, AbortSignal.timeout(5000)).catch(() => false)
    expect(outcome).toBe(false)
    expect(receiver.invalid).toHaveLength(1)
    expect(await localValue(receiver.node.services.dht, key)).toBeUndefined()
  })
})
