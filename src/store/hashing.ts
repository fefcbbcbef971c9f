import { CID } from 'multiformats/cid'
import { cidIn, sha3256 } from '../ipld/index.js'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { StoreError, StoreErrorCode } from './errors.js'

/** Multihash codes the store can verify. */
export const HashCode = {
  identity: 0x00,
  sha2_256: 0x12,
  sha3_256: 0x16
} as const

/** Block codecs the store accepts. */
export const Codec = {
  raw: 0x55,
  dagPb: 0x70,
  dagCbor: 0x71
} as const

const SUPPORTED_CODECS: ReadonlySet<number> = new Set(Object.values(Codec))

/** Largest identity "digest" accepted; an identity CID carries its block inline. */
const MAX_IDENTITY_BYTES = 128

/** The digest of `bytes` under multihash `code`, or undefined if the code is unsupported. */
export async function digestOf (code: number, bytes: Uint8Array): Promise<Uint8Array | undefined> {
  switch (code) {
    case HashCode.sha2_256: return (await sha256.digest(bytes)).digest
    case HashCode.sha3_256: return (await sha3256.digest(bytes)).digest
    case HashCode.identity: return identity.digest(bytes).digest
    default: return undefined
  }
}

/**
 * Throws `STORE_UNSUPPORTED_CID` unless the CID's codec and hash are ones the store
 * handles. CIDv0 is dag-pb + sha2-256 and therefore accepted.
 */
export function assertSupported (cid: CID): void {
  if (!SUPPORTED_CODECS.has(cid.code)) {
    throw new StoreError(StoreErrorCode.UNSUPPORTED_CID, `unsupported codec 0x${cid.code.toString(16)} in ${cid.toString()}`, { cid: cid.toString(), codec: cid.code })
  }
  const h = cid.multihash.code
  if (h !== HashCode.sha2_256 && h !== HashCode.sha3_256 && h !== HashCode.identity) {
    throw new StoreError(StoreErrorCode.UNSUPPORTED_CID, `unsupported hash 0x${h.toString(16)} in ${cid.toString()}`, { cid: cid.toString(), hash: h })
  }
  if (h === HashCode.identity && cid.multihash.size > MAX_IDENTITY_BYTES) {
    throw new StoreError(StoreErrorCode.UNSUPPORTED_CID, `identity CID longer than ${MAX_IDENTITY_BYTES} bytes`, { cid: cid.toString() })
  }
}

/** True when `bytes` hash to the digest in `cid`. The CID must pass `assertSupported`. */
export async function matches (cid: CID, bytes: Uint8Array): Promise<boolean> {
  const digest = await digestOf(cid.multihash.code, bytes)
  if (digest === undefined) return false
  return equalBytes(digest, cid.multihash.digest)
}

/** Key form of a CID: binary CIDv1 (a CIDv0 is converted, so v0 and v1 share one entry). */
export function cidKey (cid: CID): Uint8Array {
  return cid.version === 0 ? cid.toV1().bytes : cid.bytes
}

/** Parses a CID's binary form; throws `STORE_RECORD_CORRUPT` on garbage. */
export function cidFromBytes (bytes: Uint8Array): CID {
  try {
    return CID.decode(bytes)
  } catch (err) {
    throw new StoreError(StoreErrorCode.RECORD_CORRUPT, 'stored CID cannot be decoded', undefined, { cause: err })
  }
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Accepts anything that looks like a CID (including one from another copy of multiformats). */
export function asCid (value: unknown, what: string): CID {
  const cid = cidIn(value)
  if (cid === null) throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, `${what} is not a CID`)
  return cid
}
