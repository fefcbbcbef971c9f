import { defaultConfig, type IpvmConfig } from '../config/index.js'
import { withDefaults } from '../util/options.js'
import type { TrustMode } from './trust.js'
import { NetworkError, NetworkErrorCode } from './errors.js'

export interface NetworkOptions {
  /** libp2p listen multiaddrs. @default ['/ip4/0.0.0.0/tcp/0'] */
  listen: string[]
  /** Peers dialed at start and redialed when they drop (multiaddrs, ideally with `/p2p/<id>`). @default [] */
  peers: string[]
  /** Discover and dial peers on the local network with mDNS. @default true */
  mdns: boolean
  /** Gossip receipts on the `receipts` topic. @default true */
  gossip: boolean
  /** Peers a receipt record must be stored on for a successful DHT put; 0 means one. @default 2 */
  receiptQuorum: number
  /** How long a receipt lookup in the DHT may take. @default 500 */
  dhtTimeoutMs: number
  /** How long a receipt put to the DHT may take before its quorum is judged. @default 10000 */
  dhtPutTimeoutMs: number
  /** How long a block fetch from peers may take. @default 30000 */
  blockTimeoutMs: number
  /** How long a peer asked for a block may stay silent before another peer is asked too. @default 2000 */
  blockPeerTimeoutMs: number
  /** Upper bound on open connections. @default 32 */
  maxConnections: number
  /** First delay before redialing a configured peer that dropped or failed to dial. @default 1000 */
  redialInitialDelayMs: number
  /** Cap of the redial backoff (doubling from `redialInitialDelayMs`). @default 30000 */
  redialMaxDelayMs: number
  /** Interval between mDNS queries. @default 10000 */
  mdnsIntervalMs: number
  /** UDP port of mDNS. @default 5353 */
  mdnsPort: number
  /** mDNS service name peers announce under. @default '_p2p._udp.local' */
  mdnsServiceTag: string
  /** libp2p identify agent version. @default 'ipvm-node' */
  agentVersion: string
  /** Whose receipts are reused. @default 'trusted' (`network.trust`) */
  trust: TrustMode
  /** Peers trusted besides the configured `peers`. @default [] (`network.trusted_peers`) */
  trustedPeers: string[]
  /** Trusted peers that must vouch for a receipt. @default 1 (`network.receipt_quorum_agree`) */
  receiptQuorumAgree: number
  /** Receipts kept apart as candidates. @default 4096 (`network.max_receipt_candidates`) */
  maxReceiptCandidates: number
  /** Bytes of candidates. @default 16 MiB (`network.max_receipt_candidate_bytes`) */
  maxReceiptCandidateBytes: number
  /** DHT records kept for peers. @default 10000 (`network.max_dht_records`) */
  maxDhtRecords: number
  /** Bytes of DHT records kept for peers. @default 64 MiB (`network.max_dht_record_bytes`) */
  maxDhtRecordBytes: number
  /** Largest DHT record or gossiped receipt taken from a peer. @default 4 MiB */
  maxRecordBytes: number
  /** Receipts from gossip being weighed at once; more are dropped. @default 256 */
  maxPendingGossip: number
  /** Conflicting receipts an untrusted peer may send before it is disconnected and refused. @default 3 */
  maxPeerConflicts: number
  /** How often a node exchanges its recent receipts with a random trusted peer (what gossip lost comes back); 0 never. @default 10000 (`network.receipt_sync_interval_ms`) */
  receiptSyncIntervalMs: number
}

type ConfiguredNetworkOptions = 'listen' | 'peers' | 'mdns' | 'gossip' | 'receiptQuorum' | 'dhtTimeoutMs' | 'agentVersion' | 'trust' | 'trustedPeers' | 'receiptQuorumAgree' | 'maxReceiptCandidates' | 'maxReceiptCandidateBytes' | 'maxDhtRecords' | 'maxDhtRecordBytes' | 'receiptSyncIntervalMs'

/** The network's options from the `[network]` settings; `agentVersion` names this build to peers. */
export function networkOptions (config: IpvmConfig['network'], agentVersion: string): Pick<NetworkOptions, ConfiguredNetworkOptions> {
  return {
    listen: config.listen,
    peers: config.peers,
    mdns: config.mdns,
    gossip: config.gossip,
    receiptQuorum: config.receipt_quorum,
    dhtTimeoutMs: config.dht_timeout_ms,
    agentVersion,
    trust: config.trust,
    trustedPeers: config.trusted_peers,
    receiptQuorumAgree: config.receipt_quorum_agree,
    maxReceiptCandidates: config.max_receipt_candidates,
    maxReceiptCandidateBytes: config.max_receipt_candidate_bytes,
    maxDhtRecords: config.max_dht_records,
    maxDhtRecordBytes: config.max_dht_record_bytes,
    receiptSyncIntervalMs: config.receipt_sync_interval_ms
  }
}

export const defaultNetworkOptions: NetworkOptions = {
  ...networkOptions(defaultConfig.network, 'ipvm-node'),
  dhtPutTimeoutMs: 10_000,
  blockTimeoutMs: 30_000,
  blockPeerTimeoutMs: 2000,
  maxConnections: 32,
  redialInitialDelayMs: 1000,
  redialMaxDelayMs: 30_000,
  mdnsIntervalMs: 10_000,
  mdnsPort: 5353,
  mdnsServiceTag: '_p2p._udp.local',
  maxRecordBytes: 4 * 1024 * 1024,
  maxPendingGossip: 256,
  maxPeerConflicts: 3
}

/** Defaults under the given options; throws `NETWORK_INVALID_OPTION` for out-of-range numbers. */
export function resolveNetworkOptions (options: Partial<NetworkOptions>): NetworkOptions {
  const merged = withDefaults(defaultNetworkOptions, options)
  const nonNegative: Array<keyof NetworkOptions> = ['receiptQuorum', 'dhtTimeoutMs', 'dhtPutTimeoutMs', 'blockTimeoutMs', 'blockPeerTimeoutMs', 'redialInitialDelayMs', 'redialMaxDelayMs', 'mdnsPort']
  for (const key of nonNegative) {
    const value = merged[key]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new NetworkError(NetworkErrorCode.INVALID_OPTION, `network option ${key} must be a non-negative integer`, { option: key, value })
    }
  }
  for (const key of ['maxConnections', 'mdnsIntervalMs'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) {
      throw new NetworkError(NetworkErrorCode.INVALID_OPTION, `network option ${key} must be a positive integer`, { option: key, value: merged[key] })
    }
  }
  return merged
}

