import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { NetworkErrorCode } from '../../../src/network/index.js'
import { Network } from '../../../src/network/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { eventsOf, schemaErrors, startNode, stopAll, TestExchange, waitUntil } from './helpers.js'

afterEach(stopAll)

describe('network: configured peers', () => {
  it('keeps the peer id of a key and redials a configured peer with backoff after it drops', async () => {
    const keyB = await generateKeyPair('Ed25519')
    const b = await startNode({}, keyB)
    const bAddr = b.network.multiaddrs()[0]
    const a = await startNode({ peers: [bAddr], redialInitialDelayMs: 50, redialMaxDelayMs: 200 })
    await waitUntil(() => b.network.peerId in a.network.connections(), 5000, 'first connection')

    await b.network.stop()
    await waitUntil(() => eventsOf(a, 'outgoing_connection_error').length >= 2, 5000, 'failed redials')
    expect(eventsOf(a, 'outgoing_connection_error')[0]).toMatchObject({ peer_id: b.network.peerId, error: expect.any(String) })

    // B comes back on the same address with the same key: same peer id, and A reconnects by itself.
    const port = /tcp\/(\d+)/.exec(bAddr)?.[1]
    const again = await startNode({ listen: [`/ip4/127.0.0.1/tcp/${port}`] }, keyB)
    expect(again.network.peerId).toBe(b.network.peerId)
    await waitUntil(() => again.network.peerId in a.network.connections(), 5000, 'reconnection')
    expect(eventsOf(a, 'connection_established').filter((e) => e.peer_id === b.network.peerId).length).toBeGreaterThanOrEqual(2)
    expect(schemaErrors(a.events)).toEqual([])
  })

  it('reports a configured peer that cannot be dialed', async () => {
    const gone = await startNode()
    const addr = gone.network.multiaddrs()[0]
    await gone.network.stop()
    const a = await startNode({ peers: [addr], redialInitialDelayMs: 10_000 })
    await waitUntil(() => eventsOf(a, 'outgoing_connection_error').length === 1, 5000, 'dial error')
    expect(eventsOf(a, 'outgoing_connection_error')[0].peer_id).toBe(gone.network.peerId)
    expect(schemaErrors(a.events)).toEqual([])
  })

  it('rejects bad addresses and options in the constructor', async () => {
    const exchange = new TestExchange()
    const components = { privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), receipts: exchange, receiptStore: exchange }
    expect(() => new Network({ peers: ['not a multiaddr'] }, components)).toThrow(expect.objectContaining({ code: NetworkErrorCode.INVALID_MULTIADDR }))
    expect(() => new Network({ listen: ['/ip4/1.2.3'] }, components)).toThrow(expect.objectContaining({ code: NetworkErrorCode.INVALID_MULTIADDR }))
    expect(() => new Network({ receiptQuorum: -1 }, components)).toThrow(expect.objectContaining({ code: NetworkErrorCode.INVALID_OPTION }))
    expect(() => new Network({ maxConnections: 0 }, components)).toThrow(expect.objectContaining({ code: NetworkErrorCode.INVALID_OPTION }))
  })

  it('fails to start on a taken port with START_FAILED', async () => {
    const a = await startNode()
    const port = /tcp\/(\d+)/.exec(a.network.listeners()[0])?.[1]
    const exchange = new TestExchange()
    const components = { privateKey: await generateKeyPair('Ed25519'), logger: silentLogger(), receipts: exchange, receiptStore: exchange }
    const clash = new Network({ listen: [`/ip4/127.0.0.1/tcp/${port}`], mdns: false }, components)
    await expect(clash.start()).rejects.toMatchObject({ code: NetworkErrorCode.START_FAILED })
    expect(clash.started).toBe(false)
  })
})
