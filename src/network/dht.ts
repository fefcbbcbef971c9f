import type { Libp2p, PeerId } from '@libp2p/interface'
import { MessageType, type KadDHT, type SelectFn, type ValidateFn } from '@libp2p/kad-dht'
import { CID } from 'multiformats/cid'
import { equals } from 'multiformats/bytes'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { NetworkEvents } from './events.js'
import { putValueTo } from './kad-put.js'
import { verifyReceiptSignature } from './attestation.js'
import { NetworkError, NetworkErrorCode } from './errors.js'
import type { DecodedReceipt, NetworkMetricGroups, ReceiptExchange } from './types.js'

/** Kademlia replication factor (K). */
const REPLICATION = 20

/**
 * Namespace of receipt records. kad-dht only stores keys of the form `/<namespace>/...` (it
 * rejects anything else before any validator runs), so the instruction CID bytes follow this
 * prefix instead of standing alone as in Homestar.
 */
export const RECEIPT_KEY_NAMESPACE = 'ipvm'
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
  /** DAG-CBOR receipt capsule. */
  dhtBytes: Uint8Array
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
}

/** Receipt records in the Kademlia DHT: put with a quorum, bounded lookups. */
export class ReceiptDht {
  constructor (private readonly deps: ReceiptDhtDeps) {}

  /**
   * Stores the record on the closest peers. Emits `put_receipt_dht`, then
   * `receipt_quorum_success_dht` or `receipt_quorum_failure_dht`; never throws.
   * `quorum` 0 means one peer (as Homestar's `Quorum::One`).
   */
  async put (receipt: ReceiptPut, quorum: number, timeoutMs: number): Promise<{ ok: boolean, storedTo: string[] }> {
    const { dht, events, logger } = this.deps
    const instruction = receipt.instruction.toString()
    events.emit('put_receipt_dht', { cid: receipt.cid.toString(), ran: receipt.ran.toString() })
    const stored = new Set<string>()
    const key = receiptRecordKey(receipt.instruction)
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.deps.signal])
    let closest = 0
    try {
      for await (const event of dht.put(key, receipt.dhtBytes, { signal })) {
        if (event.name === 'FINAL_PEER') closest++
        if (event.name === 'PEER_RESPONSE' && event.messageType === MessageType.PUT_VALUE &&
          event.record != null && equals(event.record.value, receipt.dhtBytes) && event.from.toString() !== this.deps.selfId) {
          stored.add(event.from.toString())
        }
      }
    } catch (err) {
      logger.debug({ instruction, err: errorMessage(err) }, 'receipt put to the DHT ended early')
    }
    // A lookup that found fewer than K peers means the whole reachable network is among the K
    // closest: store on every connected DHT peer the lookup skipped, as Kademlia would.
    if (closest < REPLICATION && !signal.aborted) {
      await Promise.all((await this.connectedDhtPeers(stored)).map(async (peer) => {
        try {
          if (await putValueTo(this.deps.libp2p, peer, this.deps.protocol, key, receipt.dhtBytes, signal)) stored.add(peer.toString())
        } catch (err) {
          logger.debug({ instruction, peer: peer.toString(), err: errorMessage(err) }, 'direct receipt put failed')
        }
      }))
    }
    const needed = quorum === 0 ? 1 : quorum
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

  private async connectedDhtPeers (exclude: Set<string>): Promise<PeerId[]> {
    const { libp2p, protocol } = this.deps
    const peers = new Map<string, PeerId>()
    for (const connection of libp2p.getConnections()) {
      const id = connection.remotePeer.toString()
      if (!exclude.has(id) && id !== this.deps.selfId) peers.set(id, connection.remotePeer)
    }
    const result: PeerId[] = []
    for (const peer of peers.values()) {
      const protocols = await libp2p.peerStore.get(peer).then((p) => p.protocols, () => [] as string[])
      if (protocols.includes(protocol)) result.push(peer)
      if (result.length + exclude.size >= REPLICATION) break
    }
    return result
  }

  /**
   * Looks the instruction's receipt up in the DHT. Returns the first valid record `accept`
   * takes, or null on not-found, timeout or abort; never throws for those. Emits
   * `got_receipt_dht` when found.
   */
  async find (instruction: CID, options: { timeoutMs: number, signal?: AbortSignal, accept: (found: FoundReceipt) => Promise<boolean> }): Promise<FoundReceipt | null> {
    const { dht, exchange, logger } = this.deps
    const signals = [AbortSignal.timeout(options.timeoutMs), this.deps.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    const controller = new AbortController()
    const signal = AbortSignal.any([...signals, controller.signal])
    let found: FoundReceipt | null = null
    try {
      for await (const event of dht.get(receiptRecordKey(instruction), { signal })) {
        let value: Uint8Array | undefined
        let from: string | undefined
        if (event.name === 'PEER_RESPONSE' && event.messageType === MessageType.GET_VALUE && event.record != null) {
          value = event.record.value
          from = event.from.toString()
        } else if (event.name === 'VALUE') {
          value = event.value
          from = event.from.toString()
        }
        if (value === undefined || from === undefined) continue
        let candidate: FoundReceipt
        try {
          candidate = { ...exchange.decodeDhtRecord(instruction, value), publisher: from === this.deps.selfId ? null : from }
        } catch (err) {
          logger.debug({ instruction: instruction.toString(), from, err: errorMessage(err) }, 'invalid receipt record from the DHT')
          continue
        }
        // a record the trust policy does not take does not end the lookup: another peer may hold a better one
        if (await options.accept(candidate)) {
          found = candidate
          break
        }
      }
    } catch (err) {
      logger.debug({ instruction: instruction.toString(), err: errorMessage(err) }, 'receipt lookup in the DHT ended without a record')
    } finally {
      controller.abort()
    }
    this.deps.metrics?.network.dhtOps.inc({ op: 'get_receipt', outcome: found === null ? 'not_found' : 'ok' })
    if (found === null) return null
    this.deps.events.emit('got_receipt_dht', { cid: found.cid.toString(), publisher: found.publisher, ran: found.ran.toString() })
    return found
  }
}
