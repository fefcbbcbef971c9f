import type { IncomingMessage } from 'node:http'
import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Whether a request carries the bearer token: `Authorization: Bearer <token>`, or
 * `?token=<token>` in the URL (for WebSocket clients that cannot set headers, such as
 * browsers). An empty `token` lets every request in. The comparison takes the same time
 * whatever the given token is.
 */
export function hasBearerToken (req: IncomingMessage, token: string): boolean {
  if (token === '') return true
  const header = req.headers.authorization
  let given: string | undefined
  if (typeof header === 'string' && /^bearer /i.test(header)) given = header.slice('bearer '.length).trim()
  else given = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined
  if (given === undefined) return false
  // equal-length digests, so neither the length nor the content of the token leaks through timing
  return timingSafeEqual(digest(given), digest(token))
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** Whether a listen address is reachable only from this machine. */
export function isLoopbackHost (host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1'
}
