// Identity, listen addresses, peers and network events: live from subscribe_network_events when
// the node has it, from polling `node` otherwise.

import { byId, h, replaceChildren } from './dom.js'
import { formatTime, shortCid } from './format.js'

const POLL_MS = 3000
/** With live events, `node` is still read now and then to stay in step. */
const RECONCILE_MS = 30000
const MAX_EVENTS = 50

function describeEvent (type, e) {
  switch (type) {
    case 'new_listen_addr': return `listening on ${e.address}`
    case 'connection_established': return `connected to ${shortCid(e.peer_id)} at ${e.address}`
    case 'connection_closed': return `disconnected from ${shortCid(e.peer_id)}`
    case 'outgoing_connection_error': return `dial to ${e.peer_id === null ? 'an unknown peer' : shortCid(e.peer_id)} failed: ${e.error}`
    case 'discovered_mdns': return `found ${Object.keys(e.peers ?? {}).length} peer(s) with mDNS`
    case 'published_receipt_pubsub': return `gossiped receipt ${shortCid(e.cid)}`
    case 'received_receipt_pubsub': return `received receipt ${shortCid(e.cid)} from ${shortCid(e.publisher)}`
    case 'put_receipt_dht': return `put receipt ${shortCid(e.cid)} to the DHT`
    case 'got_receipt_dht': return `found receipt ${shortCid(e.cid)} in the DHT`
    case 'receipt_quorum_success_dht': return `receipt record ${shortCid(e.cid)} reached quorum ${e.quorum}`
    case 'receipt_quorum_failure_dht': return `receipt record ${shortCid(e.cid)} missed quorum ${e.quorum}`
    case 'task_dispatched': return `sent task ${shortCid(e.instruction)} to ${shortCid(e.peer_id)}`
    case 'task_received': return `running task ${shortCid(e.instruction)} for ${shortCid(e.peer_id)}`
    case 'task_result_received': return `${shortCid(e.peer_id)} answered task ${shortCid(e.instruction)}${e.ok ? '' : ' with an error'}`
    default: return type.replaceAll('_', ' ')
  }
}

/** A peer's compute offer in a few words: its free worker slots, its queue, this node's tasks on it. */
function offerText (o) {
  if (o === undefined) return '—'
  return `${o.offer.free_slots}/${o.offer.workers} slots free · ${o.offer.queued} queued · ${o.in_flight} of ours`
}

export class NodePanel {
  #rpc
  #timer = null
  #subscription = null
  #listeners = []
  #peers = {}
  /** Peers' compute offers, by peer id (`node`'s dynamic.compute.peers). */
  #offers = {}
  #onIdentity
  /** Bumped by every start and stop, so a start that was overtaken stops short. */
  #generation = 0

  /**
   * @param {import('./rpc.js').RpcConnection} rpc
   * @param {{ onIdentity?: Function }} [options]
   */
  constructor (rpc, { onIdentity } = {}) {
    this.#rpc = rpc
    this.#onIdentity = onIdentity ?? (() => {})
  }

  /** Starts following the node; `methods` is the set of method names in its OpenRPC document. */
  async start (methods) {
    this.stop()
    const generation = this.#generation
    await this.refresh()
    let live = false
    if (methods.has('subscribe_network_events')) {
      try {
        const id = await this.#rpc.request('subscribe_network_events', [{ format: 'json' }])
        if (generation !== this.#generation) return
        this.#subscription = id
        this.#rpc.listen(id, { onNotification: n => this.#onEvent(n), onEnd: () => { this.#subscription = null } })
        live = true
      } catch (err) {
        this.#log(Date.now(), 'subscription', `live events unavailable: ${err.message}`)
      }
    }
    if (generation !== this.#generation) return
    byId('events-source').textContent = live ? '(live)' : `(no event stream on this node; polled every ${POLL_MS / 1000} s)`
    const every = live ? RECONCILE_MS : POLL_MS
    const tick = async () => {
      await this.refresh()
      if (this.#timer !== null) this.#timer = setTimeout(tick, every)
    }
    this.#timer = setTimeout(tick, every)
  }

  stop () {
    this.#generation++
    clearTimeout(this.#timer)
    this.#timer = null
    if (this.#subscription !== null) {
      void this.#rpc.unsubscribe('unsubscribe_network_events', this.#subscription)
      this.#subscription = null
    }
  }

  async refresh () {
    let info
    try {
      info = await this.#rpc.request('node')
    } catch {
      return
    }
    this.#onIdentity(info.static.peer_id)
    const before = this.#peers
    this.#listeners = [...info.dynamic.listeners]
    this.#peers = { ...info.dynamic.connections }
    this.#offers = info.dynamic.compute?.peers ?? {}
    if (this.#subscription === null) {
      // no event stream: report the differences between two reads
      const now = Date.now()
      for (const [peer, address] of Object.entries(this.#peers)) if (!(peer in before)) this.#log(now, 'connection_established', describeEvent('connection_established', { peer_id: peer, address }))
      for (const peer of Object.keys(before)) if (!(peer in this.#peers)) this.#log(now, 'connection_closed', describeEvent('connection_closed', { peer_id: peer }))
    }
    this.#render()
  }

  #onEvent (notification) {
    if (notification === null || typeof notification !== 'object') return
    const [type] = Object.keys(notification)
    if (type === undefined) return
    const e = notification[type] ?? {}
    if (type === 'new_listen_addr' && !this.#listeners.includes(e.address)) this.#listeners.push(e.address)
    if (type === 'connection_established') this.#peers[e.peer_id] = e.address
    if (type === 'connection_closed') delete this.#peers[e.peer_id]
    this.#log(typeof e.timestamp === 'number' ? e.timestamp : Date.now(), type, describeEvent(type, e))
    this.#render()
  }

  #log (timestampMs, type, text) {
    const list = byId('events')
    list.prepend(h('li', { dataset: { event: type } }, h('time', { datetime: new Date(timestampMs).toISOString(), text: formatTime(timestampMs) }), ' ', text))
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove()
    byId('events-empty').hidden = true
  }

  #render () {
    replaceChildren(byId('listeners'), this.#listeners.length === 0
      ? [h('li', { class: 'muted', text: 'not listening (network disabled?)' })]
      : this.#listeners.map(a => h('li', { text: a })))
    const peers = Object.entries(this.#peers).sort(([a], [b]) => a.localeCompare(b))
    replaceChildren(byId('peers'), peers.map(([peer, address]) => h('tr', {},
      h('td', {}, h('code', { title: peer, text: shortCid(peer, 8, 6) })),
      h('td', { class: 'mono', text: address }),
      h('td', { text: offerText(this.#offers[peer]) }))))
    byId('peer-count').textContent = String(peers.length)
    byId('peers-empty').hidden = peers.length > 0
  }
}
