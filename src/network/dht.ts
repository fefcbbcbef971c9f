import type { Libp2p, PeerId } from '@libp2p/interface'
import type { KadDHT, SelectFn, ValidateFn } from '@libp2p/kad-dht'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'multiformats/bytes'
import { cidText } from '../ipld/index.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { NetworkEvents } from './events.js'
import { getValueFrom, putValueTo } from './kad-put.js'
import { verifyReceiptSignature } from './attestation.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import type { DecodedReceipt, NetworkMetricGroups, ReceiptExchange } from './types.js'

/**
 * Namespace of receipt records. kad-dht only stores keys of the form `/<namespace>/...` (it
 * rejects anything else before any validator runs), so the instruction CID bytes follow this
 * prefix instead of standing alone as in Homestar.
 */
export const RECEIPT_KEY_NAMESPACE = 'ipvm'
/** Close peers asked directly for a record before the DHT is walked. */
const LOOKUP_WIDTH = 2
const RECEIPT_KEY_PREFIX = new TextEncoder().encode(`/${RECEIPT_KEY_NAMESPACE}/receipt/`)

/** DHT key of the receipt record for an instruction: `/ipvm/receipt/` ‖ instruction CID bytes. */
export function receiptRecordKey (instruction: CID): Uint8Array {
  const key = new Uint8Array(RECEIPT_KEY_PREFIX.length + instruction.bytes.length)
  key.set(RECEIPT_KEY_PREFIX)
  key.set(instruction.bytes, RECEIPT_KEY_PREFIX.length)
  return key
}

/** The instruction CID a receipt record key names; throws for any other key. */
export function instructionFromRecordKey (key: Uint8Array): CID {
  if (key.length <= RECEIPT_KEY_PREFIX.length || !equals(key.subarray(0, RECEIPT_KEY_PREFIX.length), RECEIPT_KEY_PREFIX)) {
    throw new Error('not a receipt record key')
  }
  return CID.decode(key.subarray(RECEIPT_KEY_PREFIX.length))
}

/**
 * kad-dht validators and selectors for receipt records: a record is accepted (stored for a
 * peer, or taken from a peer's answer) only if the exchange decodes it under its key.
 */
export function receiptRecordRules (exchange: ReceiptExchange, maxRecordBytes: number, onInvalid: (err: unknown) => void): { validators: Record<string, ValidateFn>, selectors: Record<string, SelectFn> } {
  // kad-dht awaits a validator: throwing rejects the record
  const validate: ValidateFn = async (key, value) => {
    try {
      // the size first: nothing past the limit is decoded
      if (value.byteLength > maxRecordBytes) throw new NetworkError(NetworkErrorCode.RECORD_TOO_LARGE, `a receipt record of ${value.byteLength} bytes, more than ${maxRecordBytes}`, { limit: maxRecordBytes })
      const instruction = instructionFromRecordKey(key)
      const decoded = exchange.decodeDhtRecord(instruction, value)
      // a record may come unsigned (Homestar writes them so), but a signature it carries must hold
      if (decoded.signature !== undefined && await verifyReceiptSignature(decoded.signature, decoded.cid, instruction) === undefined) {
        throw new NetworkError(NetworkErrorCode.BAD_SIGNATURE, 'the receipt record\'s signature does not verify')
      }
    } catch (err) {
      onInvalid(err)
      throw err
    }
  }
  // Every valid record for an instruction holds a receipt for it; the first is as good as any.
  const select: SelectFn = () => 0
  return { validators: { [RECEIPT_KEY_NAMESPACE]: validate }, selectors: { [RECEIPT_KEY_NAMESPACE]: select } }
}

export interface ReceiptPut {
  cid: CID
  ran: CID
  instruction: CID
  /** DAG-CBOR receipt capsule, or how to make it (signing costs: only done when a peer is sent it). */
  dhtBytes: Uint8Array | (() => Promise<Uint8Array>)
}

export interface FoundReceipt extends DecodedReceipt {
  /** The peer that answered, or null when the record was in this node's own DHT store. */
  publisher: string | null
}

export interface ReceiptDhtDeps {
  libp2p: Libp2p
  dht: KadDHT
  /** The Kademlia protocol id, to reach peers directly. */
  protocol: string
  exchange: ReceiptExchange
  events: NetworkEvents
  logger: Logger
  metrics?: NetworkMetricGroups
  selfId: string
  connectedPeerCount: () => number
  /** Aborted when the network stops. */
  signal: AbortSignal
  /** A record some peer put on this node, by its key. */
  localRecord?: (key: Uint8Array) => Promise<Uint8Array | undefined>
}

/** Receipt records in the Kademlia DHT: put with a quorum, bounded lookups. */
export class ReceiptDht {
  constructor (private readonly deps: ReceiptDhtDeps) {}

  /**
   * Stores the record on the `quorum` peers closest to its key that this node knows (its
   * routing table; one more as a spare), one message each, so a put costs the same however
   * many peers there are; a node whose routing table knows too few walks the DHT for more.
   * A peer `covered` says already gets the receipt another way (gossip: it stores it and
   * answers lookups for it from its store) counts as holding it, and is sent nothing.
   * Emits `put_receipt_dht`, then `receipt_quorum_success_dht` or
   * `receipt_quorum_failure_dht`; never throws. `quorum` 0 means one peer (as Homestar's
   * `Quorum::One`).
   */
  async put (receipt: ReceiptPut, quorum: number, timeoutMs: number, covered: (peer: string) => boolean = () => false): Promise<{ ok: boolean, storedTo: string[] }> {
    const { events, logger } = this.deps
    const instruction = cidText(receipt.instruction)
    events.emit('put_receipt_dht', { cid: cidText(receipt.cid), ran: cidText(receipt.ran) })
    const needed = quorum === 0 ? 1 : quorum
    const key = receiptRecordKey(receipt.instruction)
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.deps.signal])
    const stored = new Set<string>()
    const targets = (await this.closestPeers(key, needed + 1, needed, signal)).slice(0, needed + 1)
    const sent = targets.filter(peer => {
      if (!covered(peer.toString())) return true
      stored.add(peer.toString())
      return false
    })
    const bytes = sent.length === 0 ? undefined : typeof receipt.dhtBytes === 'function' ? await receipt.dhtBytes() : receipt.dhtBytes
    await Promise.all(sent.map(async (peer) => {
      try {
        if (await putValueTo(this.deps.libp2p, peer, this.deps.protocol, key, bytes!, signal)) stored.add(peer.toString())
      } catch (err) {
        logger.debug({ instruction, peer: peer.toString(), err: errorMessage(err) }, 'receipt put failed')
      }
    }))
    const storedTo = [...stored].sort()
    // Stopping the network is no quorum verdict.
    if (this.deps.signal.aborted) return { ok: storedTo.length >= needed, storedTo }
    if (storedTo.length >= needed) {
      events.emit('receipt_quorum_success_dht', { cid: instruction, quorum })
      this.deps.metrics?.network.dhtOps.inc({ op: 'put_receipt', outcome: 'ok' })
      return { ok: true, storedTo }
    }
    logger.debug({ instruction, quorum, storedTo }, 'receipt quorum not reached in the DHT')
    events.emit('receipt_quorum_failure_dht', { cid: instruction, connected_peer_count: this.deps.connectedPeerCount(), quorum, stored_to_peers: storedTo })
    this.deps.metrics?.network.dhtOps.inc({ op: 'put_receipt', outcome: 'error' })
    return { ok: false, storedTo }
  }

  /**
   * Up to `count` DHT peers closest to `key`: those of the routing table (no message sent),
   * or, when it knows fewer than `enough`, those a lookup finds too. (A walk costs messages
   * per key; a routing table with `enough` peers but fewer than `count` is a small network,
   * where a walk finds the same peers.)
   */
  private async closestPeers (key: Uint8Array, count: number, enough: number, signal: AbortSignal): Promise<PeerId[]> {
    const known = (await this.routingTableClosest(key, count + 1)).filter(p => p.toString() !== this.deps.selfId)
    if (known.length >= enough) return known.slice(0, count)
    const found = new Map(known.map(p => [p.toString(), p]))
    // peers a responder named as closer: a lookup's final set leaves out those it could not
    // query in time (a busy machine), but they are peers to try all the same, after the others
    const named = new Map<string, PeerId>()
    try {
      for await (const event of this.deps.dht.getClosestPeers(key, { signal })) {
        if (event.name === 'FINAL_PEER' && event.peer.id.toString() !== this.deps.selfId) found.set(event.peer.id.toString(), event.peer.id)
        if (event.name === 'PEER_RESPONSE') for (const peer of event.closer) named.set(peer.id.toString(), peer.id)
      }
    } catch (err) {
      this.deps.logger.debug({ err: errorMessage(err) }, 'closest-peers lookup ended early')
    }
    for (const [id, peer] of named) if (id !== this.deps.selfId && !found.has(id)) found.set(id, peer)
    return [...found.values()]
  }

  /**
   * Up to `count` peers of the routing table closest to the instruction's record key, no
   * message sent: the peers a lookup asks first. A run groups its keys by these peers to ask
   * each once for all of them.
   */
  async closestKnown (instruction: CID, count: number = LOOKUP_WIDTH): Promise<PeerId[]> {
    const known = await this.routingTableClosest(receiptRecordKey(instruction), count + 1)
    return known.filter(p => p.toString() !== this.deps.selfId).slice(0, count)
  }

  /**
   * The peers of the routing table closest to `key`, without a message sent or a peer-store
   * read (kad-dht's getClosestPeersOffline reads every peer's record from the peer store: a
   * millisecond per key that a receipt put or lookup would pay).
   */
  private async routingTableClosest (key: Uint8Array, count: number): Promise<PeerId[]> {
    const dht = this.deps.dht as unknown as {
      routingTable?: { closestPeers?: (kadId: Uint8Array, options: { count: number }) => PeerId[] }
      peerRouting?: { getClosestPeersOffline?: (key: Uint8Array) => Promise<Array<{ id: PeerId }>> }
    }
    const table = dht.routingTable
    if (typeof table?.closestPeers === 'function') return table.closestPeers((await sha256.digest(key)).digest, { count })
    return (await dht.peerRouting?.getClosestPeersOffline?.(key).catch(() => []) ?? []).map(p => p.id)
  }

  /**
   * Looks the instruction's receipt up in the DHT. Returns the first valid record `accept`
   * takes, or null on not-found, timeout or abort; never throws for those. Peers in `asked`
   * (they were just asked for it another way) are not asked again. Emits `got_receipt_dht`
   * when found.
   */
  async find (instruction: CID, options: { timeoutMs: number, signal?: AbortSignal, accept: (found: FoundReceipt) => Promise<boolean>, asked?: ReadonlySet<string> }): Promise<FoundReceipt | null> {
    const { exchange, logger } = this.deps
    const signals = [AbortSignal.timeout(options.timeoutMs), this.deps.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    const controller = new AbortController()
    const signal = AbortSignal.any([...signals, controller.signal])
    // set by `consider` (a closure, so kept in an object the compiler does not narrow)
    const hit: { found?: FoundReceipt } = {}
    const key = receiptRecordKey(instruction)
    const consider = async (value: Uint8Array, from: string): Promise<boolean> => {
      let candidate: FoundReceipt
      try {
        candidate = { ...exchange.decodeDhtRecord(instruction, value), publisher: from === this.deps.selfId ? null : from }
      } catch (err) {
        logger.debug({ instruction: instruction.toString(), from, err: errorMessage(err) }, 'invalid receipt record from the DHT')
        return false
      }
      // a record the trust policy does not take does not end the lookup: another peer may hold a better one
      if (!await options.accept(candidate)) return false
      hit.found = candidate
      return true
    }
    try {
      // a record a peer put on this node
      const local = await this.deps.localRecord?.(key)
      if (local === undefined || !await consider(local, this.deps.selfId)) {
        // the peers closest to the key hold the record if anyone does: ask them directly, one
        // message each (the routing table knows them; a lookup finds them when it does not)
        for (const peer of (await this.closestPeers(key, LOOKUP_WIDTH, 1, signal)).slice(0, LOOKUP_WIDTH)) {
          if (signal.aborted) break
          if (options.asked?.has(peer.toString()) === true) continue
          try {
            const value = await getValueFrom(this.deps.libp2p, peer, this.deps.protocol, key, signal)
            if (value !== undefined && await consider(value, peer.toString())) break
          } catch (err) {
            logger.debug({ instruction: instruction.toString(), peer: peer.toString(), err: errorMessage(err) }, 'receipt lookup on a close peer failed')
          }
        }
      }
    } finally {
      controller.abort()
    }
    const found = hit.found
    this.deps.metrics?.network.dhtOps.inc({ op: 'get_receipt', outcome: found === undefined ? 'not_found' : 'ok' })
    if (found === undefined) return null
    this.deps.events.emit('got_receipt_dht', { cid: found.cid.toString(), publisher: found.publisher, ran: found.ran.toString() })
    return found
  }
}
