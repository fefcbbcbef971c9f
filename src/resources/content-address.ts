import { CID } from 'multiformats/cid'
import { ResourceError, ResourceErrorCode } from './errors.js'

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
  if (path !== null) candidates.push(path[1])
  const sub = /^([^.]+)\.ipfs\./.exec(u.hostname)
  if (sub !== null) candidates.push(sub[1])
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
