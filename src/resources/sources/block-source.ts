import type { CID } from 'multiformats/cid'

/** Somewhere else to get a block from when it is not in the store (Kubo, peers). */
export interface BlockSource {
  readonly name: string
  /** False while the source cannot be asked at all (the network has no peer connected). */
  ready?: () => boolean
  getBlock(cid: CID, opts: { signal?: AbortSignal }): Promise<Uint8Array>
  /**
   * A source for the blocks of one file, when the source can do better knowing which blocks
   * belong together (peers: ask those that had the earlier blocks). Such a source leaves
   * storing the blocks to the caller.
   */
  session?(): BlockSource
}
