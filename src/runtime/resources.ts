import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { sha3256 } from '../ipld/cid.js'
import type { Logger } from '../util/logger.js'
import { errorMessage } from '../util/errors.js'
import { LruMap } from '../util/lru.js'
import { catFile, isStoreError, StoreErrorCode, type Store } from '../store/index.js'
import { ResourceError, ResourceErrorCode } from './resource-errors.js'
import { fetchHttpResource, readBody, readFileResource } from './url-resources.js'

export { ResourceError, ResourceErrorCode } from './resource-errors.js'

/** Somewhere else to get a block from when it is not in the store (Kubo, peers). */
export interface BlockSource {
  readonly name: string
  getBlock(cid: CID, opts: { signal?: AbortSignal }): Promise<Uint8Array>
}

export interface ResourceResolverOptions {
  /** Fetched resources kept in memory, in bytes. @default 268435456 */
  cacheBytes?: number
  /** Blocks fetched from other sources for one resource, at most. @default 100000 */
  maxRemoteBlocks?: number
  /**
   * Folders `file://` resources may be read from. A path is allowed when it lies inside one
   * of them both as written and with every symlink resolved. Empty: `file://` is refused.
   * @default []
   */
  allowFileRoots?: string[]
  /**
   * Hosts `http://` and `https://` resources may be fetched from: `name` (default port of
   * the scheme only) or `name:port`; redirects must stay on allowed hosts. Empty: refused.
   * URLs with an `/ipfs/<cid>` path are read by CID from the store and peers instead.
   * @default []
   */
  allowHttpHosts?: string[]
  /** Largest `file://` or `http(s)://` resource read. @default 268435456 */
  maxUrlBytes?: number
  /** Time allowed to fetch an `http(s)://` resource. @default 30000 */
  httpTimeoutMs?: number
}

export interface ResourceResolverComponents {
  store: Store
  logger: Logger
  /** Tried in order for blocks the store lacks. */
  sources?: BlockSource[]
}

const HASHERS = new Map<number, { digest: (b: Uint8Array) => unknown }>([[sha256.code, sha256], [sha3256.code, sha3256], [identity.code, identity]])

/**
 * Resolves `ipfs://<cid>` (and `/ipfs/<cid>` gateway paths) to a UnixFS file's bytes: blocks
 * from the store first, then from the configured sources (Kubo's API, peers), each fetched
 * block checked against its hash and kept in the store. Whole files are cached in memory.
 */
export class ResourceResolver {
  private readonly c: ResourceResolverComponents
  private readonly cacheLimit: number
  private readonly maxRemoteBlocks: number
  private readonly urlAccess: { fileRoots: string[], httpHosts: string[], maxBytes: number, timeoutMs: number }
  /** Whole files by CID, at most `cacheLimit` bytes of them. */
  private readonly cache: LruMap<string, Uint8Array>
  private readonly inflight = new Map<string, Promise<Uint8Array>>()

  constructor (opts: ResourceResolverOptions, components: ResourceResolverComponents) {
    this.c = components
    this.cacheLimit = opts.cacheBytes ?? 256 * 1024 * 1024
    this.cache = new LruMap(this.cacheLimit, { weigh: bytes => bytes.byteLength })
    this.maxRemoteBlocks = opts.maxRemoteBlocks ?? 100_000
    this.urlAccess = {
      fileRoots: opts.allowFileRoots ?? [],
      httpHosts: opts.allowHttpHosts ?? [],
      maxBytes: opts.maxUrlBytes ?? 256 * 1024 * 1024,
      timeoutMs: opts.httpTimeoutMs ?? 30_000
    }
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

  async fetchCid (cid: CID, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const key = cid.toString()
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

  private async load (cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    for (let fetched = 0; ; fetched++) {
      try {
        return await catFile(this.c.store.blocks, cid, signal !== undefined ? { signal } : {})
      } catch (err) {
        if (!isStoreError(err) || err.code !== StoreErrorCode.BLOCK_NOT_FOUND || fetched >= this.maxRemoteBlocks) {
          if (isStoreError(err) && err.code === StoreErrorCode.BLOCK_NOT_FOUND) throw unavailable(cid, err.message)
          throw err
        }
        const missing = CID.parse(String(err.data?.cid))
        await this.fetchBlock(missing, cid, signal)
      }
    }
  }

  private async fetchBlock (block: CID, root: CID, signal?: AbortSignal): Promise<void> {
    const problems: string[] = []
    for (const source of this.c.sources ?? []) {
      try {
        const bytes = await source.getBlock(block, signal !== undefined ? { signal } : {})
        await verifyBlock(block, bytes)
        await this.c.store.blocks.put(block, bytes)
        this.c.logger.debug({ block: block.toString(), source: source.name }, 'fetched block')
        return
      } catch (err) {
        problems.push(`${source.name}: ${errorMessage(err)}`)
      }
    }
    throw unavailable(root, problems.length === 0 ? `block ${block.toString()} is not in the local store and no other source is configured` : `block ${block.toString()}: ${problems.join('; ')}`)
  }

  private remember (key: string, bytes: Uint8Array): void {
    // one large file must not push out everything else
    if (bytes.byteLength > this.cacheLimit / 4 || this.cache.has(key)) return
    this.cache.set(key, bytes)
  }
}

function unavailable (cid: CID, reason: string): ResourceError {
  return new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${cid.toString()} is not available: ${reason}`, { cid: cid.toString() })
}

/** Checks a block's bytes against the multihash in its CID. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  const hasher = HASHERS.get(cid.multihash.code)
  if (hasher === undefined) throw new ResourceError(ResourceErrorCode.UNSUPPORTED, `unsupported hash 0x${cid.multihash.code.toString(16)} in ${cid.toString()}`, { cid: cid.toString() })
  const digest = await hasher.digest(bytes) as { bytes: Uint8Array }
  const a = digest.bytes
  const b = cid.multihash.bytes
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    throw new ResourceError(ResourceErrorCode.CORRUPT, `block ${cid.toString()} does not match its hash`, { cid: cid.toString() })
  }
}

/** The CID a resource URL names: `ipfs://<cid>[/…]`, `…/ipfs/<cid>`, `<cid>.ipfs.<gateway>`. */
export function cidOfUrl (url: string): CID {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new ResourceError(ResourceErrorCode.URL_INVALID, `not a URL: ${url}`, { url })
  }
  const candidates: string[] = []
  if (u.protocol === 'ipfs:') candidates.push(u.hostname !== '' ? u.hostname : u.pathname.replace(/^\/+/, '').split('/')[0] ?? '')
  const path = /\/ipfs\/([^/?#]+)/.exec(u.pathname)
  if (path !== null) candidates.push(path[1]!)
  const sub = /^([^.]+)\.ipfs\./.exec(u.hostname)
  if (sub !== null) candidates.push(sub[1]!)
  for (const c of candidates) {
    try {
      return CID.parse(c)
    } catch {
      try {
        // URL hostnames are lower-cased; base58 v0 CIDs do not survive that, base32 ones do
        return CID.parse(c.toLowerCase())
      } catch { /* next */ }
    }
  }
  throw new ResourceError(ResourceErrorCode.URL_INVALID, `no CID in resource URL ${url} (expected ipfs://<cid>)`, { url })
}

/** The largest block taken from an HTTP source (IPFS blocks are at most 2 MiB by convention). */
const MAX_BLOCK_BYTES = 4 * 1024 * 1024

/** A block source over HTTP: one request a block, bounded in time and size. */
abstract class HttpBlockSource implements BlockSource {
  abstract readonly name: string
  protected readonly base: string
  private readonly timeoutMs: number

  constructor (base: string, timeoutMs = 30_000) {
    this.base = base.replace(/\/+$/, '')
    this.timeoutMs = timeoutMs
  }

  protected abstract request (cid: CID, signal: AbortSignal): Promise<Response>

  async getBlock (cid: CID, opts: { signal?: AbortSignal }): Promise<Uint8Array> {
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(opts.signal !== undefined ? [opts.signal] : [])]
    const res = await this.request(cid, AbortSignal.any(signals))
    if (!res.ok) throw new Error(`HTTP ${res.status} ${await res.text().catch(() => '')}`.trim())
    return await readBody(res, cid.toString(), MAX_BLOCK_BYTES)
  }
}

/**
 * Kubo's HTTP API (`--kubo-api`): `POST /api/v0/block/get?arg=<cid>`. Blocks are checked
 * against their hash by the resolver.
 */
export class KuboBlockSource extends HttpBlockSource {
  readonly name = 'kubo'

  protected async request (cid: CID, signal: AbortSignal): Promise<Response> {
    return await fetch(`${this.base}/api/v0/block/get?arg=${cid.toString()}`, { method: 'POST', signal })
  }
}

/**
 * An IPFS HTTP gateway in its trustless form (`GET /ipfs/<cid>?format=raw`, answered with
 * `application/vnd.ipld.raw`): one block at a time, checked against its hash by the resolver,
 * so the gateway need not be trusted.
 */
export class GatewayBlockSource extends HttpBlockSource {
  readonly name = 'gateway'

  protected async request (cid: CID, signal: AbortSignal): Promise<Response> {
    return await fetch(`${this.base}/ipfs/${cid.toString()}?format=raw`, { headers: { accept: 'application/vnd.ipld.raw' }, signal })
  }
}

/**
 * Whether a resource URL always means the same bytes: true for `ipfs://` and gateway URLs
 * (they name a CID), false for `file://` and plain `http(s)://` URLs, whose content may change.
 */
export function isContentAddressedUrl (url: string): boolean {
  if (url.startsWith('file:')) return false
  try {
    cidOfUrl(url)
    return true
  } catch {
    return false
  }
}
