import { isIPv6 } from 'node:net'
import { LruMap } from '../util/lru.js'
import { TokenBucket, type TokenBucketOptions } from './limits.js'

/**
 * Who a request comes from, for budgets shared by all of a client's connections: its IPv4
 * address (IPv4-mapped IPv6 included), or the /64 network of an IPv6 address, since one
 * host commonly holds a whole /64.
 */
export function clientKey (address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]
  return isIPv6(address) ? ipv6Prefix64(address) : address
}

function ipv6Prefix64 (address: string): string {
  const bare = address.split('%')[0].toLowerCase()
  const groups = (part: string): string[] => part === '' ? [] : part.split(':').flatMap(g => g.includes('.') ? ['0', '0'] : [g])
  const gap = bare.indexOf('::')
  let full: string[]
  if (gap < 0) {
    full = groups(bare)
  } else {
    const head = groups(bare.slice(0, gap))
    const tail = groups(bare.slice(gap + 2))
    full = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail]
  }
  return `${full.slice(0, 4).map(g => parseInt(g, 16).toString(16)).join(':')}::/64`
}

/** Clients whose budgets are remembered; past it the least recently seen are forgotten (their next request starts a full budget). */
const MAX_CLIENTS = 65_536

/**
 * One request budget per client (`clientKey`), shared by its WebSocket connections and HTTP
 * requests, so opening a new connection per request does not reset it. Bounded in memory.
 */
export class ClientBudgets {
  private readonly opts: TokenBucketOptions
  private readonly buckets: LruMap<string, TokenBucket>
  private readonly now: (() => number) | undefined

  constructor (opts: TokenBucketOptions, now?: () => number, capacity = MAX_CLIENTS) {
    this.opts = opts
    this.now = now
    this.buckets = new LruMap(capacity)
  }

  /** The budget of the client at `address` (a socket's `remoteAddress`). */
  forAddress (address: string | undefined): TokenBucket {
    const key = clientKey(address)
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.opts, this.now)
      if (!bucket.unlimited) this.buckets.set(key, bucket)
    }
    return bucket
  }

  /** Clients with a budget in memory. */
  get size (): number {
    return this.buckets.size
  }
}
