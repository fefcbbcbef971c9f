import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import type { NetworkEvents } from './events.js'

const P2P_CODE = 421

/** Parses a multiaddr; throws `NETWORK_INVALID_MULTIADDR` naming the option. */
export function parseMultiaddr (text: string, option: string): Multiaddr {
  try {
    return multiaddr(text)
  } catch (err) {
    throw new NetworkError(NetworkErrorCode.INVALID_MULTIADDR, `${option}: invalid multiaddr ${JSON.stringify(text)}`, { option, value: text }, { cause: err })
  }
}

/** The `/p2p/<id>` of a multiaddr, if it has one. */
export function peerIdOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().findLast((c) => c.code === P2P_CODE)?.value
}

/** The multiaddr without its trailing `/p2p/<id>`. */
export function withoutPeerId (addr: Multiaddr): Multiaddr {
  return peerIdOf(addr) === undefined ? addr : addr.decapsulateCode(P2P_CODE)
}

interface ConfiguredPeer {
  addr: Multiaddr
  /** Known from the address or learned at the first connection. */
  peerId?: string
  delayMs: number
  timer?: NodeJS.Timeout
  dialing: boolean
}

export interface PeerDialerDeps {
  libp2p: Libp2p
  events: NetworkEvents
  logger: Logger
  /** A configured peer's id, once a dial to it succeeded. */
  onConfigured?: (peerId: string) => void
}

/**
 * Keeps the configured peers connected: dials them at start and redials one that drops or fails
 * with a doubling backoff (`initialDelayMs` up to `maxDelayMs`), as Homestar redials its
 * `node_addresses`. Failed dials emit `outgoing_connection_error`.
 */
export class PeerDialer {
  private readonly peers: ConfiguredPeer[]
  private running = false
  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const id = event.detail.toString()
    for (const peer of this.peers) if (peer.peerId === id) this.schedule(peer)
  }

  constructor (addrs: Multiaddr[], private readonly options: { initialDelayMs: number, maxDelayMs: number }, private readonly deps: PeerDialerDeps) {
    this.peers = addrs.map((addr) => ({ addr, peerId: peerIdOf(addr), delayMs: options.initialDelayMs, dialing: false }))
  }

  start (): void {
    this.running = true
    this.deps.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    for (const peer of this.peers) void this.dial(peer)
  }

  stop (): void {
    this.running = false
    this.deps.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const peer of this.peers) clearTimeout(peer.timer)
  }

  /** Dials an address once (for mDNS discoveries and callers); reports failures as events. */
  async dialOnce (target: PeerId | Multiaddr, peerId: string | null): Promise<boolean> {
    try {
      await this.deps.libp2p.dial(target)
      return true
    } catch (err) {
      if (this.running) this.deps.events.emit('outgoing_connection_error', { error: errorMessage(err), peer_id: peerId })
      this.deps.logger.debug({ peer: peerId, err: errorMessage(err) }, 'dial failed')
      return false
    }
  }

  private async dial (peer: ConfiguredPeer): Promise<void> {
    if (!this.running || peer.dialing) return
    peer.dialing = true
    try {
      const connection = await this.deps.libp2p.dial(peer.addr)
      peer.peerId = connection.remotePeer.toString()
      this.deps.onConfigured?.(peer.peerId)
      peer.delayMs = this.options.initialDelayMs
      this.deps.logger.debug({ peer: peer.peerId, addr: peer.addr.toString() }, 'connected to a configured peer')
    } catch (err) {
      if (!this.running) return
      this.deps.events.emit('outgoing_connection_error', { error: errorMessage(err), peer_id: peer.peerId ?? null })
      this.deps.logger.debug({ addr: peer.addr.toString(), err: errorMessage(err), retryInMs: peer.delayMs }, 'dial to a configured peer failed')
      this.schedule(peer)
    } finally {
      peer.dialing = false
    }
  }

  private schedule (peer: ConfiguredPeer): void {
    if (!this.running || peer.timer !== undefined) return
    const delayMs = peer.delayMs
    peer.delayMs = Math.min(peer.delayMs * 2, this.options.maxDelayMs)
    peer.timer = setTimeout(() => {
      peer.timer = undefined
      const connected = peer.peerId !== undefined && this.deps.libp2p.getConnections().some((c) => c.remotePeer.toString() === peer.peerId)
      if (!connected) void this.dial(peer)
    }, delayMs)
    peer.timer.unref()
  }
}
