import { createHash } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { cidText } from '../ipld/index.js'
import type { Logger } from '../util/logger.js'
import { errorMessage } from '../util/errors.js'
import { LruMap } from '../util/lru.js'
import { catFile, isStoreError, StoreErrorCode, type Store } from '../store/index.js'
import { cidOfUrl, isContentAddressedUrl } from './content-address.js'
import { fetchDag, type DagFetchResult } from './dag-fetch.js'
import { ResourceError, ResourceErrorCode } from './errors.js'
import { defaultResourceResolverOptions, type ResourceResolverOptions } from './options.js'
import type { BlockSource } from './sources/block-source.js'
import { fetchHttpResource, readFileResource } from './url.js'
import { KuboBlockSource } from './sources/kubo.js'
import { GatewayBlockSource } from './sources/gateway.js'
import { withDefaults } from '../util/options.js'

/** A resource's bytes and a key that always means these same bytes. */
export interface FetchedResource {
  bytes: Uint8Array
  /**
   * The URL itself when it names a CID (`ipfs://<cid>`, `/ipfs/<cid>` gateway paths);
   * `sha256:<hex of the bytes>` for `file://` and `http(s)://` URLs, whose content may change.
   */
  key: string
}

export interface ResourceResolverComponents {
  store: Pick<Store, 'blocks'>
  logger: Logger
  /** Tried in order for blocks the store lacks, after the Kubo API and gateway of the options. */
  sources?: BlockSource[]
}

/**
 * Resolves `ipfs://<cid>` (and `/ipfs/<cid>` gateway paths) to a UnixFS file's bytes: from the
 * store when it holds the whole file; otherwise the missing blocks are fetched from the
 * configured sources (Kubo's API, a gateway, peers), many at a time, each checked against its
 * hash and kept in the store, and the file is then read from the store. Whole files up to a
 * quarter of `cacheBytes` are cached in memory.
 */
export class ResourceResolver {
  private readonly c: ResourceResolverComponents
  private readonly cacheLimit: number
  private readonly maxRemoteBlocks: number
  private readonly maxBlocksInFlight: number
  private readonly urlAccess: { fileRoots: string[], httpHosts: string[], maxBytes: number, timeoutMs: number }
  /** Whole files by CID, at most `cacheLimit` bytes of them. */
  private readonly cache: LruMap<string, Uint8Array>
  private readonly inflight = new Map<string, Promise<Uint8Array>>()

  constructor (options: ResourceResolverOptions, components: ResourceResolverComponents) {
    const opts = withDefaults(defaultResourceResolverOptions, options)
    const configured: BlockSource[] = []
    if (opts.kuboApi !== '') configured.push(new KuboBlockSource(opts.kuboApi))
    if (opts.gateway !== '') configured.push(new GatewayBlockSource(opts.gateway))
    this.c = { ...components, sources: [...configured, ...(components.sources ?? [])] }
    this.cacheLimit = opts.cacheBytes
    this.cache = new LruMap(this.cacheLimit, { weigh: bytes => bytes.byteLength })
    this.maxRemoteBlocks = opts.maxRemoteBlocks
    this.maxBlocksInFlight = opts.maxBlocksInFlight
    this.urlAccess = { fileRoots: opts.allowFileRoots, httpHosts: opts.allowHttpHosts, maxBytes: opts.maxUrlBytes, timeoutMs: opts.httpTimeoutMs }
  }

  /** Adds a block source after construction (the network starts after the runtime). */
  addSource (source: BlockSource): void {
    this.c.sources = [...(this.c.sources ?? []), source]
  }

  /**
   * The bytes of a resource: `ipfs://<cid>` and gateway URLs by CID; `file://` and
   * `http(s)://` URLs only where `allowFileRoots` / `allowHttpHosts` allow (`RESOURCE_FORBIDDEN`
   * otherwise). Those are read afresh each time: they are not content-addressed.
   */
  async fetch (url: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new ResourceError(ResourceErrorCode.URL_INVALID, `not a URL: ${url}`, { url })
    }
    if (u.protocol === 'file:') return await readFileResource(u, this.urlAccess)
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      let cid: CID
      try {
        cid = cidOfUrl(url)
      } catch {
        return await fetchHttpResource(u, this.urlAccess, opts.signal)
      }
      return await this.fetchCid(cid, opts)
    }
    return await this.fetchCid(cidOfUrl(url), opts)
  }

  /**
   * `fetch`, with a key for what is made of the bytes (compiled Wasm is cached by it): the
   * same key always means the same bytes, even for URLs whose content may change.
   */
  async fetchResource (url: string, opts: { signal?: AbortSignal, local?: boolean } = {}): Promise<FetchedResource> {
    const bytes = opts.local === true ? await this.fetchLocal(url, opts.signal) : await this.fetch(url, opts)
    return { bytes, key: isContentAddressedUrl(url) ? url : `sha256:${createHash('sha256').update(bytes).digest('hex')}` }
  }

  /** A content-addressed resource from this node's store alone (`RESOURCE_UNAVAILABLE` otherwise); nothing is fetched. */
  private async fetchLocal (url: string, signal?: AbortSignal): Promise<Uint8Array> {
    if (!isContentAddressedUrl(url)) throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${url} is not content-addressed: it is not kept here`, { url })
    const cid = cidOfUrl(url)
    const cached = this.cache.get(cid.toString())
    if (cached !== undefined) return cached
    try {
      return await catFile(this.c.store.blocks, cid, signal !== undefined ? { signal } : {})
    } catch (err) {
      if (isStoreError(err) && err.code === StoreErrorCode.BLOCK_NOT_FOUND) throw unavailable(cid, 'not all of it is in the local store')
      throw err
    }
  }

  async fetchCid (cid: CID, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const key = cidText(cid)
    const cached = this.cache.get(key)
    if (cached !== undefined) return cached
    let pending = this.inflight.get(key)
    if (pending === undefined) {
      pending = this.load(cid, opts.signal).finally(() => this.inflight.delete(key))
      this.inflight.set(key, pending)
    }
    const bytes = await pending
    this.remember(key, bytes)
    return bytes
  }

  /**
   * Makes every block of the UnixFS file `cid` local without reading it: the file's DAG is
   * walked once, and the blocks the store lacks are fetched from the sources, up to
   * `maxBlocksInFlight` at a time, each checked and stored as it arrives (see `fetchDag`).
   * Fails with `RESOURCE_UNAVAILABLE` naming the block no source had and what each said,
   * `RESOURCE_TOO_LARGE` beyond `maxRemoteBlocks`.
   */
  async prefetch (cid: CID, opts: { signal?: AbortSignal } = {}): Promise<DagFetchResult> {
    // one session per file: a source may send its blocks from the peers that had the first ones
    const sources = (this.c.sources ?? []).map(source => source.session?.() ?? source)
    const started = performance.now()
    const result = await fetchDag(cid, this.c.store.blocks, async (block, signal) => await this.fetchBlock(block, cid, sources, signal), {
      window: this.maxBlocksInFlight,
      maxBlocks: this.maxRemoteBlocks,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {})
    })
    if (result.fetched > 0) this.c.logger.debug({ cid: cid.toString(), ...result, ms: Math.round(performance.now() - started) }, 'fetched a resource\'s blocks')
    return result
  }

  /** The file from the store; what the store lacks is fetched first. */
  private async load (cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    const read = async (): Promise<Uint8Array> => await catFile(this.c.store.blocks, cid, signal !== undefined ? { signal } : {})
    try {
      return await read()
    } catch (err) {
      if (!isStoreError(err) || err.code !== StoreErrorCode.BLOCK_NOT_FOUND) throw err
    }
    await this.prefetch(cid, signal !== undefined ? { signal } : {})
    try {
      return await read()
    } catch (err) {
      // a block went missing after the walk (deleted meanwhile)
      if (isStoreError(err) && err.code === StoreErrorCode.BLOCK_NOT_FOUND) throw unavailable(cid, err.message)
      throw err
    }
  }

  /** One block from the first source that has it, checked against its CID and stored. */
  private async fetchBlock (block: CID, root: CID, sources: BlockSource[], signal: AbortSignal): Promise<Uint8Array> {
    const problems: string[] = []
    const ready = sources.filter(s => s.ready?.() !== false)
    if (ready.length === 0) {
      // nothing can provide it now: fail at once rather than retry against nothing
      const none = sources.length === 0 ? 'no other source is configured' : 'no other source can be asked now (no peer connected)'
      throw unavailable(root, `block ${block.toString()} is not in the local store and ${none}`, block, false)
    }
    for (const source of ready) {
      signal.throwIfAborted()
      let bytes: Uint8Array
      try {
        bytes = await source.getBlock(block, { signal })
      } catch (err) {
        problems.push(`${source.name}: ${errorMessage(err)}`)
        continue
      }
      try {
        // the store hashes what it is given: a block that does not match is refused
        await this.c.store.blocks.put(block, bytes)
      } catch (err) {
        if (!isStoreError(err) || err.code !== StoreErrorCode.BLOCK_INVALID) throw err
        problems.push(`${source.name}: block ${block.toString()} does not match its hash`)
        continue
      }
      return bytes
    }
    signal.throwIfAborted()
    throw unavailable(root, problems.length === 0 ? `block ${block.toString()} is not in the local store and no other source is configured` : `block ${block.toString()}: ${problems.join('; ')}`, block)
  }

  private remember (key: string, bytes: Uint8Array): void {
    // one large file must not push out everything else
    if (bytes.byteLength > this.cacheLimit / 4 || this.cache.has(key)) return
    this.cache.set(key, bytes)
  }
}

function unavailable (cid: CID, reason: string, block?: CID, retryable = true): ResourceError {
  return new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${cid.toString()} is not available: ${reason}; add the file with \`ipvm add FILE\``, { cid: cid.toString(), ...(block !== undefined ? { block: block.toString() } : {}) }, { retryable })
}
