import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { base58btc } from 'multiformats/bases/base58'
import { NetworkError, NetworkErrorCode } from './errors.js'

/**
 * Whose receipts this node reuses as results:
 * - `trusted`: receipts vouched for by trusted peers (the peers the operator named in
 *   `network.peers` and `network.trusted_peers`), `receipt_quorum_agree` of them agreeing;
 * - `any`: every peer is trusted, as in Homestar (for closed networks);
 * - `none`: no peer's receipt is ever reused; every task runs here.
 */
export type TrustMode = 'trusted' | 'any' | 'none'

export interface TrustOptions {
  mode: TrustMode
  /** Peer ids (base58 `12D3Koo…`) or `did:key:` DIDs of Ed25519 keys, trusted from the start. */
  trustedPeers: readonly string[]
  /** Distinct trusted peers that must vouch for the same receipt before it is reused. */
  quorum: number
}

/** Multicodec prefix of an Ed25519 public key in a `did:key` (varint 0xed). */
const ED25519_PUB = [0xed, 0x01]

/** The peer id a trusted-peer entry names; throws `NETWORK_INVALID_OPTION` for anything else. */
export function peerIdOfTrustEntry (entry: string): string {
  try {
    if (entry.startsWith('did:key:')) {
      const bytes = base58btc.decode(entry.slice('did:key:'.length))
      if (bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1] || bytes.length !== 34) throw new Error('only Ed25519 did:key DIDs name a peer')
      return peerIdFromPublicKey(publicKeyFromRaw(bytes.subarray(2))).toString()
    }
    return peerIdFromString(entry).toString()
  } catch (err) {
    throw new NetworkError(NetworkErrorCode.INVALID_OPTION, `network.trusted_peers: ${JSON.stringify(entry)} is neither a peer id nor an Ed25519 did:key (${(err as Error).message})`, { option: 'trustedPeers', value: entry }, { cause: err })
  }
}

/** The trust policy: which peers are trusted, and how many of them must agree. */
export class TrustPolicy {
  readonly mode: TrustMode
  readonly quorum: number
  private readonly trusted: Set<string>

  constructor (options: TrustOptions) {
    this.mode = options.mode
    this.quorum = Math.max(1, options.quorum)
    this.trusted = new Set(options.trustedPeers.map(peerIdOfTrustEntry))
  }

  /** Trusts a peer from now on (a peer the operator named by address, once its id is known). */
  trust (peerId: string): void {
    this.trusted.add(peerId)
  }

  isTrusted (peerId: string): boolean {
    if (this.mode === 'any') return true
    if (this.mode === 'none') return false
    return this.trusted.has(peerId)
  }

  /** Whether the trusted peers among `vouchers` (peer ids) are enough to reuse a receipt. */
  satisfiedBy (vouchers: Iterable<string>): boolean {
    if (this.mode === 'none') return false
    let n = 0
    for (const peer of new Set(vouchers)) if (this.isTrusted(peer) && ++n >= this.quorum) return true
    return false
  }

  /** Whether the operator named the peer (configured or listed), whatever the mode. */
  isNamed (peerId: string): boolean {
    return this.trusted.has(peerId)
  }

  /** The trusted peers named so far (for `node` and logs). */
  trustedPeers (): string[] {
    return [...this.trusted].sort()
  }
}
