import type { CID } from 'multiformats/cid'

/** Somewhere else to get a block from when it is not in the store (Kubo, peers). */
export interface BlockSource {
  readonly name: string
  /** False while the source cannot be asked at all (the network has no peer connected). */
  ready?: () => boolean
  getBlock(cid: CID, opts: { signal?: AbortSignal }): Promise<Uint8Array>
}
