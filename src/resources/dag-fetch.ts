import { setMaxListeners } from 'node:events'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { ResourceError, ResourceErrorCode } from './errors.js'

const IDENTITY = 0x00

/** The node's block store, as the walk reads it. */
export interface DagBlocks {
  /** Which blocks are stored, in one read. */
  hasMany(cids: CID[]): Promise<boolean[]>
  get(cid: CID): Promise<Uint8Array | undefined>
}

export interface DagFetchOptions {
  /** Blocks being fetched at once. */
  window: number
  /** Distinct blocks in the file, at most (`RESOURCE_TOO_LARGE` beyond). */
  maxBlocks: number
  signal?: AbortSignal
}

export interface DagFetchResult {
  /** Distinct blocks of the file. */
  blocks: number
  /** Blocks fetched (the others were in the store). */
  fetched: number
  /** Bytes fetched. */
  fetchedBytes: number
}

/** Gets a block the store lacks from elsewhere, checks it against its CID and stores it. */
export type FetchBlock = (cid: CID, signal: AbortSignal) => Promise<Uint8Array>

/**
 * Makes every block of the UnixFS file under `root` local, walking its DAG once: the root,
 * then its links, level by level. Blocks the store lacks are fetched, up to `window` at a
 * time (`fetch` stores each as it arrives); a dag-pb node's links are followed once it is
 * there. Only the CIDs still to visit and the blocks in flight are held. The
 * first failure stops the walk (the fetches still running are aborted) and is thrown.
 * A dag-pb node that is not part of a UnixFS file is stored but its links are not followed:
 * reading the file reports what is wrong with it.
 */
export async function fetchDag (root: CID, blocks: DagBlocks, fetch: FetchBlock, options: DagFetchOptions): Promise<DagFetchResult> {
  options.signal?.throwIfAborted()
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  // every fetch in flight listens to it (a few listeners each): not a leak, so no warning
  setMaxListeners(Math.max(10, 4 * options.window), signal)
  const result: DagFetchResult = { blocks: 1, fetched: 0, fetchedBytes: 0 }
  const seen = new Set([root.toString()])
  // `missing`: known to be absent (a leaf looked up); a dag-pb node is read, or fetched when absent
  const rootMissing = root.code !== dagPb.code && root.multihash.code !== IDENTITY && !(await blocks.hasMany([root]))[0]
  let queue: Array<{ cid: CID, missing: boolean }> = [{ cid: root, missing: rootMissing }]
  let next = 0
  let running = 0

  const fetchOne = async (cid: CID): Promise<Uint8Array> => {
    signal.throwIfAborted()
    const bytes = await fetch(cid, signal)
    result.fetched++
    result.fetchedBytes += bytes.byteLength
    return bytes
  }

  /**
   * A dag-pb node is read (or fetched) and its links followed; the leaves it links to are
   * looked up in the store together, and only the missing ones are queued to be fetched.
   */
  const visit = async (cid: CID, missing: boolean): Promise<void> => {
    if (cid.code !== dagPb.code) {
      if (missing) await fetchOne(cid)
      return
    }
    const bytes = (missing ? undefined : await blocks.get(cid)) ?? await fetchOne(cid)
    const links: CID[] = []
    for (const link of fileLinks(bytes)) {
      const key = link.toString()
      if (seen.has(key) || link.multihash.code === IDENTITY) continue
      if (seen.size >= options.maxBlocks) {
        throw new ResourceError(ResourceErrorCode.TOO_LARGE, `resource ${root.toString()} has more than ${options.maxBlocks} blocks`, { cid: root.toString(), maxBlocks: options.maxBlocks })
      }
      seen.add(key)
      links.push(link)
    }
    result.blocks = seen.size
    const leaves = links.filter(link => link.code !== dagPb.code)
    const stored = await blocks.hasMany(leaves)
    const absent = new Set(leaves.filter((_, i) => !stored[i]))
    for (const link of links) if (link.code === dagPb.code || absent.has(link)) queue.push({ cid: link, missing: absent.has(link) })
  }

  let onAbort: (() => void) | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown): void => {
        controller.abort()
        reject(err instanceof Error ? err : new Error(String(err)))
      }
      onAbort = () => { fail(options.signal?.reason) }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      const pump = (): void => {
        if (controller.signal.aborted) return
        while (running < options.window && next < queue.length) {
          const { cid, missing } = queue[next++]
          running++
          visit(cid, missing).then(() => {
            running--
            pump()
          }, fail)
        }
        // the visited part of the queue is dropped now and then
        if (next > 4096 && next * 2 > queue.length) {
          queue = queue.slice(next)
          next = 0
        }
        if (running === 0 && next >= queue.length) resolve()
      }
      pump()
    })
  } finally {
    if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort)
    controller.abort()
  }
  return result
}

/** The links of a dag-pb node that is part of a UnixFS file; none for anything else. */
function fileLinks (bytes: Uint8Array): CID[] {
  let node: dagPb.PBNode
  let file: UnixFS
  try {
    node = dagPb.decode(bytes)
    if (node.Data === undefined) return []
    file = UnixFS.unmarshal(node.Data)
  } catch {
    return []
  }
  if ((file.type !== 'file' && file.type !== 'raw') || node.Links.length !== file.blockSizes.length) return []
  return node.Links.map(link => link.Hash).filter(cid => cid.code === dagPb.code || cid.code === raw.code || cid.multihash.code === IDENTITY)
}
