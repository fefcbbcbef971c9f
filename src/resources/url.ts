import { constants } from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { errorMessage } from '../util/errors.js'
import { capped, concatBytes } from '../util/bytes.js'
import { ResourceError, ResourceErrorCode } from './errors.js'

/** What `file://` and `http(s)://` resources may reach. */
export interface UrlAccess {
  /** Folders files may be read from; empty refuses every `file://` URL. */
  fileRoots: string[]
  /** `name` (default port only) or `name:port`; empty refuses every `http(s)://` URL. */
  httpHosts: string[]
  /** Largest resource read. */
  maxBytes: number
  /** Time allowed for one HTTP fetch, redirects included. */
  timeoutMs: number
}

const MAX_REDIRECTS = 5

/**
 * Reads a `file://` resource inside one of `access.fileRoots`. The path is checked as
 * written (before the file system is touched, so nothing is learnt about files outside) and
 * again with symlinks resolved, so neither `..` nor a link can lead out of a root.
 */
export async function readFileResource (url: URL, access: UrlAccess): Promise<Uint8Array> {
  const where = url.href
  if (access.fileRoots.length === 0) throw forbidden(where, 'file:// resources are off; list the folders they may come from in resources.allow_file_roots')
  if (url.hostname !== '' && url.hostname !== 'localhost') throw forbidden(where, 'file:// URLs must name a local path')
  let path: string
  try {
    path = fileURLToPath(url)
  } catch (err) {
    throw new ResourceError(ResourceErrorCode.URL_INVALID, `not a file path: ${where}: ${errorMessage(err)}`, { url: where })
  }
  const roots = access.fileRoots.map(r => resolve(r))
  if (!roots.some(root => inside(root, path))) throw forbidden(where, 'the path is outside resources.allow_file_roots')
  let real: string
  try {
    real = await realpath(path)
  } catch (err) {
    throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${where} is not available: ${errorMessage(err)}`, { url: where })
  }
  const realRoots = await Promise.all(roots.map(async r => await realpath(r).catch(() => undefined)))
  if (!realRoots.some(root => root !== undefined && inside(root, real))) throw forbidden(where, 'the path leads outside resources.allow_file_roots through a symlink')
  // O_NOFOLLOW: a link swapped in after the check is not followed
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
    throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${where} is not available: ${errorMessage(err)}`, { url: where })
  })
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw forbidden(where, 'not a regular file')
    if (stat.size > access.maxBytes) throw tooLarge(where, access.maxBytes)
    return new Uint8Array(await handle.readFile())
  } finally {
    await handle.close()
  }
}

/**
 * Fetches an `http(s)://` resource from one of `access.httpHosts`, following at most five
 * redirects, each of which must stay on an allowed host. The body is read up to `maxBytes`.
 */
export async function fetchHttpResource (url: URL, access: UrlAccess, signal?: AbortSignal): Promise<Uint8Array> {
  const first = url.href
  if (access.httpHosts.length === 0) throw forbidden(first, 'http(s):// resources are off; list the hosts they may come from in resources.allow_http_hosts')
  const abort = AbortSignal.any([AbortSignal.timeout(access.timeoutMs), ...(signal !== undefined ? [signal] : [])])
  let current = url
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') throw forbidden(first, `redirected to ${current.protocol} URL`)
    if (!hostAllowed(current, access.httpHosts)) throw forbidden(first, `host ${current.host} is not in resources.allow_http_hosts`)
    if (current.username !== '' || current.password !== '') throw forbidden(first, 'URLs with credentials are not fetched')
    let res: Response
    try {
      res = await fetch(current, { redirect: 'manual', signal: abort })
    } catch (err) {
      throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${first} is not available: ${errorMessage(err)}`, { url: first })
    }
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel()
      if (hop >= MAX_REDIRECTS) throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${first}: more than ${MAX_REDIRECTS} redirects`, { url: first })
      current = new URL(location, current)
      continue
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${first} is not available: HTTP ${res.status}`, { url: first, status: res.status })
    }
    return await readBody(res, first, access.maxBytes)
  }
}

/** A response body of at most `maxBytes` (`RESOURCE_TOO_LARGE` beyond; `RESOURCE_UNAVAILABLE` when the transfer fails). */
export async function readBody (res: Response, where: string, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) {
    await res.body?.cancel()
    throw tooLarge(where, maxBytes)
  }
  if (res.body === null) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  try {
    // Node's web streams are async iterable (the DOM typings do not say so)
    const body = res.body as unknown as AsyncIterable<Uint8Array>
    for await (const chunk of capped(body, maxBytes, () => tooLarge(where, maxBytes))) chunks.push(chunk)
  } catch (err) {
    if (err instanceof ResourceError) throw err
    throw new ResourceError(ResourceErrorCode.UNAVAILABLE, `resource ${where} is not available: ${errorMessage(err)}`, { url: where })
  }
  return concatBytes(chunks)
}

/** `name` allows the scheme's default port only; `name:port` that port. Names compare case-insensitively. */
export function hostAllowed (url: URL, hosts: string[]): boolean {
  const hostname = url.hostname.toLowerCase()
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80'
  return hosts.some(entry => {
    const e = entry.trim().toLowerCase()
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(e)
    if (m === null) return false
    const defaultPort = url.protocol === 'https:' ? '443' : '80'
    return m[1] === hostname && (m[2] ?? defaultPort) === port
  })
}

function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))
}

function forbidden (url: string, reason: string): ResourceError {
  return new ResourceError(ResourceErrorCode.FORBIDDEN, `resource ${url} is refused: ${reason}`, { url })
}

function tooLarge (url: string, limit: number): ResourceError {
  return new ResourceError(ResourceErrorCode.TOO_LARGE, `resource ${url} is larger than ${limit} bytes`, { url, limit })
}
