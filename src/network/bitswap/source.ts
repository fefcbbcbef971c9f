import type { CID } from 'multiformats/cid'
import { NetworkError, NetworkErrorCode } from '../errors.js'
import { BitswapSession } from './wants.js'

/** Peers as a source of blocks for the resource resolver. */
export interface PeerBlockSource {
  name: string
  /** False while no peer is connected: the resolver does not wait on a source that cannot answer. */
  ready: () => boolean
  getBlock: (cid: CID, opts: { signal?: AbortSignal }) => Promise<Uint8Array>
}

type Fetch = (cid: CID, opts: { signal?: AbortSignal, session?: BitswapSession, keep?: boolean }) => Promise<Uint8Array>

/**
 * Peers as a block source. With nobody connected it fails at once rather than wait for a peer
 * to turn up. `session()` gives a source for the blocks of one file: they are asked of the
 * peers that had its earlier blocks, and left for the caller to store.
 */
export function peerBlockSource (fetch: Fetch, hasPeers: () => boolean): PeerBlockSource & { session: () => PeerBlockSource } {
  const source = (session?: BitswapSession): PeerBlockSource => ({
    name: 'peers',
    ready: hasPeers,
    getBlock: async (cid, opts) => {
      if (!hasPeers()) throw new NetworkError(NetworkErrorCode.NO_PEERS, 'no peers connected')
      return await fetch(cid, session === undefined ? opts : { ...opts, session, keep: false })
    }
  })
  return { ...source(), session: () => source(new BitswapSession()) }
}
