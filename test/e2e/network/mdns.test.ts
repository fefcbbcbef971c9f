import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { eventsOf, schemaErrors, startNode, stopAll, waitUntil } from './helpers.js'

const GROUP = '224.0.0.251'
// A port and service name of our own, so that no real mDNS responder on the link takes part.
const PORT = 20_000 + Math.floor(Math.random() * 30_000)
const SERVICE = `_ipvm-test-${randomBytes(4).toString('hex')}._udp.local`

/**
 * Keeps multicast on the loopback interface in this test process: every socket that joins a
 * group joins it on 127.0.0.1 only, and sends its multicast datagrams out of 127.0.0.1, so
 * the mDNS queries and answers of the nodes under test never reach a real network.
 * multicast-dns (which @libp2p/mdns uses) takes its sockets from node:dgram, so this applies
 * to it. Returns a function that undoes it.
 */
function confineMulticastToLoopback (): () => void {
  const proto = dgram.Socket.prototype
  // the originals, unbound on purpose: the patches call them with the socket as `this`, and the undo puts them back
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { addMembership, send } = proto
  const routed = new WeakSet<dgram.Socket>()
  proto.addMembership = function (this: dgram.Socket, group: string) {
    addMembership.call(this, group, '127.0.0.1')
  }
  proto.send = function (this: dgram.Socket, ...args: unknown[]) {
    if (!routed.has(this)) {
      routed.add(this)
      this.setMulticastInterface('127.0.0.1')
    }
    return (send as (...a: unknown[]) => void).apply(this, args)
  } as typeof send
  return () => {
    proto.addMembership = addMembership
    proto.send = send
  }
}

/** Whether a multicast datagram sent on loopback comes back to a member socket (1 s at most). */
async function multicastWorks (): Promise<{ ok: boolean, reason: string }> {
  const port = PORT + 1
  const receiver = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  const sender = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  try {
    await new Promise<void>((resolve, reject) => { receiver.once('error', reject); receiver.bind(port, '0.0.0.0', resolve) })
    receiver.addMembership(GROUP)
    const token = randomBytes(8)
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { resolve(false) }, 1000)
      receiver.on('message', (msg) => { if (msg.equals(token)) { clearTimeout(timer); resolve(true) } })
    })
    await new Promise<void>((resolve, reject) => { sender.once('error', reject); sender.bind(0, '127.0.0.1', resolve) })
    sender.setMulticastLoopback(true)
    sender.setMulticastTTL(1)
    await new Promise<void>((resolve, reject) => { sender.send(token, port, GROUP, (err) => { if (err == null) resolve(); else reject(err) }) })
    return (await heard) ? { ok: true, reason: '' } : { ok: false, reason: 'a multicast datagram sent on the loopback interface never came back' }
  } catch (err) {
    return { ok: false, reason: `multicast on the loopback interface fails here: ${(err as Error).message}` }
  } finally {
    receiver.close()
    sender.close()
  }
}

const restore = confineMulticastToLoopback()
afterAll(restore)
const capability = await multicastWorks()

afterEach(stopAll)

describe('network: mDNS discovery', () => {
  it('two nodes with mdns on find and connect to each other', async (ctx) => {
    if (!capability.ok) ctx.skip(`mDNS not exercised: ${capability.reason}`)
    const options = { mdns: true, mdnsPort: PORT, mdnsServiceTag: SERVICE, mdnsIntervalMs: 500 }
    const a = await startNode(options)
    const b = await startNode(options)
    await waitUntil(() => b.network.peerId in a.network.connections(), 10_000, 'mDNS connection')
    await waitUntil(() => eventsOf(a, 'discovered_mdns').length > 0 || eventsOf(b, 'discovered_mdns').length > 0, 5000, 'discovered_mdns')
    const discovered = [...eventsOf(a, 'discovered_mdns'), ...eventsOf(b, 'discovered_mdns')]
    const peers = Object.assign({}, ...discovered.map((e) => e.peers as Record<string, string>)) as Record<string, string>
    expect(Object.keys(peers).some((id) => id === a.network.peerId || id === b.network.peerId)).toBe(true)
    for (const addr of Object.values(peers)) expect(addr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    expect(schemaErrors([...a.events, ...b.events])).toEqual([])
  })
})
