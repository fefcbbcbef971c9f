import { randomBytes } from 'node:crypto'
import { base32HexDecode, base32HexEncode } from './encoding.js'
import { IpldError, IpldErrorCode } from './errors.js'
import type { Ipld } from './value.js'

/** An instruction nonce in IPLD form: `""`, a base32hex-lower string, or 12/16 raw bytes. */
export type Nonce = string | Uint8Array

const NONCE_SIZES = [12, 16]

/**
 * Normalizes `nnc` as Homestar's `Nonce::try_from(Ipld)` does:
 * - missing, `""`, or any value that is neither a string nor bytes (null, a number): `""`;
 * - bytes: must be 12 or 16 long, kept as bytes;
 * - a non-empty string: lowercase base32hex without padding of 12 or 16 bytes, kept as the
 *   string re-encoded from those bytes (the same string for valid input).
 * Throws `IPLD_INVALID_NONCE` otherwise; `path` locates the field in error data.
 */
export function normalizeNonce (value: Ipld | undefined, path = 'nnc'): Nonce {
  if (value instanceof Uint8Array) {
    if (!NONCE_SIZES.includes(value.length)) {
      throw new IpldError(IpldErrorCode.INVALID_NONCE, `nonce bytes must be 12 or 16 bytes long, not ${value.length}`, { path })
    }
    return value
  }
  if (typeof value !== 'string' || value === '') return ''
  const bytes = base32HexDecode(value)
  if (bytes === undefined) {
    throw new IpldError(IpldErrorCode.INVALID_NONCE, 'a nonce string must be lowercase base32hex without padding', { path })
  }
  if (!NONCE_SIZES.includes(bytes.length)) {
    throw new IpldError(IpldErrorCode.INVALID_NONCE, `a nonce string must encode 12 or 16 bytes, not ${bytes.length}`, { path })
  }
  return base32HexEncode(bytes)
}

/** A fresh random nonce in the string form Homestar's tools write (base32hex-lower). */
export function randomNonce (size: 12 | 16 = 12): string {
  return base32HexEncode(randomBytes(size))
}
