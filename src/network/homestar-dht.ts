import type { Libp2p, PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { NetworkEvents } from './events.js'
import { getValueFrom, putValueTo } from './kad-put.js'
import type { DecodedReceipt, NetworkMetricGroups, ReceiptExchange } from './types.js'

/** What Homestar's identify answers with: it ignores peers whose protocol version differs. */
export const HOMESTAR_PROTOCOL_VERSION = 'homestar/0.3.0'

/** Homestar peers asked or written to directly at once, at most. */
const MAX_HOMESTAR_PEERS = 8
const decoder = new TextDecoder()

export interface HomestarDhtDeps {
  libp2p: Libp2p
  protocol: string
  exchange: ReceiptExchange
  events: NetworkEvents
  logger: Logger
  metrics?: NetworkMetricGroups
}

/**
 * Receipt records in Homestar's DHT form: keyed by the bare instruction CID bytes
 * (homestar.md §9.3). kad-dht refuses keys without a `/<namespace>/`, so these are written to
 * and read from the Homestar peers this node is connected to, one Kademlia request each; a
 * Homestar peer's lookups reach this node's own records through the datastore.
 */
export class HomestarDht {
  /** Whether a connected peer is Homestar, by peer id: read from the peer store once per connection, not per receipt. */
  private readonly known = new Map<string, boolean>()
  private readonly forget = (event: CustomEvent<PeerId | { peerId: PeerId }>): void => {
    const d = event.detail
    this.known.delete(('peerId' in d ? d.peerId : d).toString())
  }

  constructor (private readonly deps: HomestarDhtDeps) {
    deps.libp2p.addEventListener('peer:identify', this.forget)
    deps.libp2p.addEventListener('peer:disconnect', this.forget)
  }

  close (): void {
    this.deps.libp2p.removeEventListener('peer:identify', this.forget)
    this.deps.libp2p.removeEventListener('peer:disconnect', this.forget)
    this.known.clear()
  }

  /** Connected peers that identified as Homestar. */
  async peers (): Promise<PeerId[]> {
    const { libp2p } = this.deps
    const out: PeerId[] = []
    const seen = new Set<string>()
    // connections, not getPeers(): that parses every peer id again from its string
    for (const { remotePeer: peer } of libp2p.getConnections()) {
      const id = peer.toString()
      if (seen.has(id)) continue
      seen.add(id)
      let homestar = this.known.get(id)
      if (homestar === undefined) {
        homestar = await isHomestar(libp2p, peer)
        if (homestar !== undefined) this.known.set(id, homestar)
      }
      if (homestar === true) out.push(peer)
      if (out.length >= MAX_HOMESTAR_PEERS) break
    }
    return out
  }

  /** Puts a receipt record (Homestar's capsule) under the instruction CID on every connected Homestar peer; how many took it. */
  async put (instruction: CID, capsule: Uint8Array, signal: AbortSignal): Promise<string[]> {
    const stored: string[] = []
    await Promise.all((await this.peers()).map(async peer => {
      try {
        if (await putValueTo(this.deps.libp2p, peer, this.deps.protocol, instruction.bytes, capsule, signal)) stored.push(peer.toString())
      } catch (err) {
        this.deps.logger.debug({ peer: peer.toString(), err: errorMessage(err) }, 'receipt put to a Homestar peer failed')
      }
    }))
    return stored.sort()
  }

  /**
   * The receipt records connected Homestar peers hold for the instruction, each as it is
   * decoded, until `accept` takes one; that one is announced (`got_receipt_dht`, with the peer
   * that answered as publisher) and counted as a successful lookup, as a Kademlia find is.
   */
  async find (instruction: CID, signal: AbortSignal, accept: (found: DecodedReceipt & { publisher: string }) => Promise<boolean>): Promise<(DecodedReceipt & { publisher: string }) | null> {
    for (const peer of await this.peers()) {
      if (signal.aborted) return null
      let value: Uint8Array | undefined
      try {
        value = await getValueFrom(this.deps.libp2p, peer, this.deps.protocol, instruction.bytes, signal)
      } catch (err) {
        this.deps.logger.debug({ peer: peer.toString(), err: errorMessage(err) }, 'receipt lookup on a Homestar peer failed')
        continue
      }
      if (value === undefined) continue
      let decoded: DecodedReceipt
      try {
        decoded = this.deps.exchange.decodeDhtRecord(instruction, value)
      } catch (err) {
        this.deps.logger.debug({ peer: peer.toString(), err: errorMessage(err) }, 'invalid receipt record from a Homestar peer')
        continue
      }
      const found = { ...decoded, publisher: peer.toString() }
      if (await accept(found)) {
        this.deps.metrics?.network.dhtOps.inc({ op: 'get_receipt', outcome: 'ok' })
        this.deps.events.emit('got_receipt_dht', { cid: found.cid.toString(), publisher: found.publisher, ran: found.ran.toString() })
        return found
      }
    }
    return null
  }
}

/**
 * Whether the peer identified itself as Homestar by its agent (`homestar-runtime/…`); this
 * node answers with Homestar's protocol version too, so that is not the test.
 */
async function isHomestar (libp2p: Libp2p, peer: PeerId): Promise<boolean | undefined> {
  try {
    const agent = (await libp2p.peerStore.get(peer)).metadata.get('AgentVersion')
    // undefined: not identified yet
    return agent === undefined ? undefined : decoder.decode(agent).startsWith('homestar')
  } catch {
    return undefined
  }
}

/** The instruction a DHT record key names: this node's `/ipvm/receipt/<cid>` form, or Homestar's bare CID. */
export function instructionOfKey (key: Uint8Array, namespaced: (key: Uint8Array) => CID): CID | undefined {
  try {
    return key[0] === 0x2f ? namespaced(key) : CID.decode(key)
  } catch {
    return undefined
  }
}
