import type { IpvmConfig } from '../config/index.js'

export interface ResourceResolverOptions {
  /** Fetched resources kept in memory, in bytes. @default 268435456 */
  cacheBytes?: number
  /** Blocks of one resource fetched from other sources, at most (`RESOURCE_TOO_LARGE` beyond). @default 100000 */
  maxRemoteBlocks?: number
  /**
   * Blocks of one resource being fetched at once. It bounds the memory a fetch holds
   * (256 KiB blocks: 16 MiB at the default) and keeps peers sending while earlier blocks are stored.
   * @default 64
   */
  maxBlocksInFlight?: number
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
  /** A Kubo HTTP API to fetch blocks this node lacks from, e.g. `http://127.0.0.1:5001`; empty: none. @default "" (`resources.kubo_api`) */
  kuboApi?: string
  /** A trustless IPFS HTTP gateway, tried after `kuboApi`; empty: none. @default "" (`resources.gateway`) */
  gateway?: string
}

const MIB = 1024 * 1024

export const defaultResourceResolverOptions: Required<ResourceResolverOptions> = {
  cacheBytes: 256 * MIB,
  maxRemoteBlocks: 100_000,
  maxBlocksInFlight: 64,
  allowFileRoots: [],
  allowHttpHosts: [],
  maxUrlBytes: 256 * MIB,
  httpTimeoutMs: 30_000,
  kuboApi: '',
  gateway: ''
}

/** The resolver's options from the `[resources]` settings. */
export function resourceResolverOptions (config: IpvmConfig['resources']): ResourceResolverOptions {
  return { allowFileRoots: config.allow_file_roots, allowHttpHosts: config.allow_http_hosts, kuboApi: config.kubo_api, gateway: config.gateway }
}
