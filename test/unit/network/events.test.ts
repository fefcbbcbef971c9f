import { describe, expect, it } from 'vitest'
import { networkNotification, notificationType, type NetworkNotification } from '../../../src/network/index.js'
import { NetworkEvents } from '../../../src/network/events.js'
import { fieldsSorted, schemaErrors } from '../../e2e/network/helpers.js'

const peer = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const cid = 'bafyrmidyqnbqbeh5lmkwavjizfmsz6ezwvjleweh5frwk56akfyugoio2e'

describe('network: notifications', () => {
  it('builds single-key notifications with sorted fields and an integer timestamp', () => {
    const n = networkNotification('receipt_quorum_failure_dht', { stored_to_peers: [peer], quorum: 2, cid, connected_peer_count: 1 }, 1795419786478.7)
    expect(JSON.stringify(n)).toBe(`{"receipt_quorum_failure_dht":{"cid":"${cid}","connected_peer_count":1,"quorum":2,"stored_to_peers":["${peer}"],"timestamp":1795419786478}}`)
    expect(notificationType(n)).toBe('receipt_quorum_failure_dht')
  })

  it('matches schemas/network.json for every event type, and the schema rejects what is off', () => {
    const all: NetworkNotification[] = [
      networkNotification('new_listen_addr', { address: '/ip4/127.0.0.1/tcp/1', peer_id: peer }),
      networkNotification('connection_established', { address: '/ip4/127.0.0.1/tcp/1', peer_id: peer }),
      networkNotification('connection_closed', { address: '/ip4/127.0.0.1/tcp/1', peer_id: peer }),
      networkNotification('outgoing_connection_error', { error: 'refused', peer_id: null }),
      networkNotification('discovered_mdns', { peers: { [peer]: '/ip4/127.0.0.1/tcp/1' } }),
      networkNotification('published_receipt_pubsub', { cid, ran: cid }),
      networkNotification('received_receipt_pubsub', { cid, publisher: peer, ran: cid }),
      networkNotification('put_receipt_dht', { cid, ran: cid }),
      networkNotification('got_receipt_dht', { cid, publisher: null, ran: cid }),
      networkNotification('receipt_quorum_success_dht', { cid, quorum: 2 }),
      networkNotification('receipt_quorum_failure_dht', { cid, connected_peer_count: 1, quorum: 2, stored_to_peers: [] })
    ]
    expect(schemaErrors(all)).toEqual([])
    expect(all.every(fieldsSorted)).toBe(true)
    const off = [
      { new_listen_addr: { address: '/ip4/127.0.0.1/tcp/1', peer_id: peer } },
      { new_listen_addr: { address: '/ip4/127.0.0.1/tcp/1', peer_id: peer, timestamp: 1.5 } },
      { new_listen_addr: { address: '/ip4/127.0.0.1/tcp/1', peer_id: peer, timestamp: 1, extra: true } },
      { put_receipt_dht: { cid, ran: cid, timestamp: 1 }, new_listen_addr: { address: '/x', peer_id: peer, timestamp: 1 } },
      { unknown_event: { timestamp: 1 } },
      { got_receipt_dht: { cid: { '/': cid }, publisher: null, ran: cid, timestamp: 1 } }
    ] as unknown as NetworkNotification[]
    expect(schemaErrors(off)).toHaveLength(off.length)
  })

  it('delivers to every subscriber even when one throws, and unsubscribes', () => {
    const failures: unknown[] = []
    const events = new NetworkEvents((err) => { failures.push(err) })
    const seen: string[] = []
    events.subscribe(() => { throw new Error('listener bug') })
    const off = events.subscribe((n) => { seen.push(notificationType(n)) })
    events.emit('put_receipt_dht', { cid, ran: cid })
    off()
    events.emit('put_receipt_dht', { cid, ran: cid })
    expect(seen).toEqual(['put_receipt_dht'])
    expect(failures).toHaveLength(2)
    expect(events.listenerCount()).toBe(1)
  })
})
