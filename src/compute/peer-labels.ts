/** Peers labelled by id in metrics; the others share one label. */
export const MAX_LABELLED_PEERS = 32

/**
 * Metric labels of peers with bounded cardinality: the first `MAX_LABELLED_PEERS` peers seen
 * keep their id, every later one is `other`.
 */
export class PeerLabels {
  private readonly named = new Set<string>()

  constructor (private readonly max = MAX_LABELLED_PEERS) {}

  of (peer: string): string {
    if (this.named.has(peer)) return peer
    if (this.named.size >= this.max) return 'other'
    this.named.add(peer)
    return peer
  }
}
