import { sha3_256, sha3_512 } from '@noble/hashes/sha3.js'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { NetworkError, NetworkErrorCode } from '../errors.js'
import { decodeVarint, encodeVarint } from '../wire/protobuf.js'

const IDENTITY = 0x00
type HashFn = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>

/** Multihash functions a fetched block can be verified with. */
const hashers = new Map<number, HashFn>([
  [sha256.code, async (b) => (await sha256.digest(b)).digest],
  [sha512.code, async (b) => (await sha512.digest(b)).digest],
  [0x16, (b) => sha3_256(b)],
  [0x14, (b) => sha3_512(b)],
  [IDENTITY, (b) => b]
])

export function canVerify (cid: CID): boolean {
  return hashers.has(cid.multihash.code)
}

/** CID prefix as bitswap sends it: version, codec, multihash code, digest length. */
export function cidPrefix (cid: CID): Uint8Array {
  const out: number[] = []
  encodeVarint(cid.version, out)
  encodeVarint(cid.code, out)
  encodeVarint(cid.multihash.code, out)
  encodeVarint(cid.multihash.size, out)
  return Uint8Array.from(out)
}

/**
 * The CID of `data` under a bitswap prefix, by hashing it. Throws `NETWORK_UNSUPPORTED_HASH`
 * for a hash function this node does not have and `NETWORK_INVALID_MESSAGE` for a bad prefix.
 */
export async function cidFromPrefix (prefix: Uint8Array, data: Uint8Array): Promise<CID> {
  let offset = 0
  const fields: number[] = []
  try {
    for (let i = 0; i < 4; i++) {
      const [value, next] = decodeVarint(prefix, offset)
      fields.push(value)
      offset = next
    }
  } catch (err) {
    throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'malformed CID prefix', undefined, { cause: err })
  }
  const [version, codec, hashCode, length] = fields
  const hash = hashers.get(hashCode)
  if (hash === undefined) throw new NetworkError(NetworkErrorCode.UNSUPPORTED_HASH, `cannot verify multihash 0x${hashCode.toString(16)}`, { code: hashCode })
  const full = await hash(data)
  if (length > full.length) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'digest length beyond the hash size')
  const digest = Digest.create(hashCode, full.subarray(0, length))
  if (version === 0) {
    if (codec !== 0x70 || hashCode !== sha256.code) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, 'invalid CIDv0 prefix')
    return CID.createV0(digest as Digest.Digest<0x12, number>)
  }
  if (version !== 1) throw new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `unknown CID version ${version}`)
  return CID.createV1(codec, digest)
}

/** True when `data` hashes to `cid`'s multihash. */
export async function blockMatches (cid: CID, data: Uint8Array): Promise<boolean> {
  const hash = hashers.get(cid.multihash.code)
  if (hash === undefined) throw new NetworkError(NetworkErrorCode.UNSUPPORTED_HASH, `cannot verify multihash 0x${cid.multihash.code.toString(16)}`, { cid: cid.toString() })
  const full = await hash(data)
  const digest = cid.multihash.digest
  if (digest.length > full.length) return false
  for (let i = 0; i < digest.length; i++) if (digest[i] !== full[i]) return false
  return cid.multihash.code !== IDENTITY || digest.length === full.length
}
