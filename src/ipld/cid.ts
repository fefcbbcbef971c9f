import { createHash } from 'node:crypto'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { bases } from 'multiformats/basics'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import type * as Digest from 'multiformats/hashes/digest'
import { from } from 'multiformats/hashes/hasher'
import { encode } from './codec.js'
import { IpldError, IpldErrorCode } from './errors.js'
import type { Ipld } from './value.js'

/** Multicodec of DAG-CBOR. */
export const DAG_CBOR_CODE = 0x71
/** Multihash code of sha3-256. */
export const SHA3_256_CODE = 0x16

/** sha3-256 in pure JavaScript (@noble/hashes): the reference, and the fallback. */
export function sha3256Noble (input: Uint8Array): Uint8Array<ArrayBuffer> {
  return sha3_256(input)
}

/**
 * sha3-256 through OpenSSL (node:crypto), about 5x faster on small blocks and 20x on large
 * ones than the JavaScript version; undefined where OpenSSL lacks sha3.
 */
export const sha3256Native: ((input: Uint8Array) => Uint8Array<ArrayBuffer>) | undefined = (() => {
  try {
    createHash('sha3-256')
  } catch {
    return undefined
  }
  return (input: Uint8Array) => {
    const digest = createHash('sha3-256').update(input).digest()
    return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
  }
})()

/** The multihash hasher of every Homestar CID (sha3-256, code 0x16); synchronous. */
export const sha3256 = from({
  name: 'sha3-256',
  code: SHA3_256_CODE,
  encode: sha3256Native ?? sha3256Noble
})

function digestOf (bytes: Uint8Array): Digest.Digest<typeof SHA3_256_CODE, number> {
  const digest = sha3256.digest(bytes)
  // the encoder above is synchronous, so the hasher returns a digest, never a promise
  if (digest instanceof Promise) throw new Error('sha3-256 hasher returned a promise')
  return digest
}

/** CIDv1(dag-cbor, sha3-256) of bytes that are already DAG-CBOR. */
export function cidOfBytes (bytes: Uint8Array): CID {
  return CID.createV1(DAG_CBOR_CODE, digestOf(bytes))
}

/** CIDv1(dag-cbor, sha3-256) of the canonical DAG-CBOR of `value`: how Homestar names every object. */
export function cidOf (value: Ipld): CID {
  return cidOfBytes(encode(value))
}

/**
 * `cid.toString()`, kept compact: multiformats' base32 encoder builds the text a character at
 * a time, which V8 keeps as a tree of 59 pieces (about 1.7 kB instead of 60 bytes), and the
 * CID caches that tree for its life. Reading the text as a number makes V8 flatten it in
 * place, for the CID's cache and every holder of the string. For strings held as long as a
 * run (task ids, map keys): a 10 000-task workflow holds 17 MB less.
 */
export function cidText (cid: CID): string {
  const text = cid.toString()
  void Number(text)
  return text
}

/** Multibase decoders by prefix (every base that multiformats knows, as Rust's multibase crate). */
const DECODERS = new Map<string, { decode: (text: string) => Uint8Array }>()
for (const codec of Object.values(bases)) DECODERS.set(codec.prefix, codec.decoder)

/**
 * Parses a CID string the way Rust's `Cid::try_from(&str)` (cid 0.10) does: anything up to
 * and including a `/ipfs/` segment is skipped, a 46-character string starting with `Qm` is a
 * base58btc CIDv0, anything else is multibase (any prefix). Returns `undefined` when `text`
 * is not a CID.
 */
export function tryParseCid (text: string): CID | undefined {
  const at = text.indexOf('/ipfs/')
  const source = at >= 0 ? text.slice(at + 6) : text
  if (source.length < 2) return undefined
  try {
    let bytes: Uint8Array
    if (source.length === 46 && source.startsWith('Qm')) {
      bytes = base58btc.baseDecode(source)
    } else {
      const prefix = String.fromCodePoint(source.codePointAt(0) ?? 0)
      const decoder = DECODERS.get(prefix)
      if (decoder === undefined) return undefined
      bytes = decoder.decode(source)
    }
    // like Rust's reader, bytes after a complete CID are ignored
    const [cid] = CID.decodeFirst(bytes)
    return cid
  } catch {
    return undefined
  }
}

/** {@link tryParseCid} that throws `IPLD_INVALID_CID`. */
export function parseCid (text: string): CID {
  const cid = tryParseCid(text)
  if (cid === undefined) {
    throw new IpldError(IpldErrorCode.INVALID_CID, `invalid CID: ${JSON.stringify(text.length > 100 ? text.slice(0, 100) + '…' : text)}`)
  }
  return cid
}

/** The CID whose binary form is `bytes` (e.g. a DHT record key); throws `IPLD_INVALID_CID`. */
export function cidFromBytes (bytes: Uint8Array): CID {
  try {
    return CID.decode(bytes)
  } catch (err) {
    throw new IpldError(IpldErrorCode.INVALID_CID, 'invalid CID bytes', undefined, { cause: err })
  }
}

/** True when `cid` is what Homestar produces: CIDv1, dag-cbor, sha3-256 with a 32-byte digest. */
export function isHomestarCid (cid: CID): boolean {
  return cid.version === 1 && cid.code === DAG_CBOR_CODE && cid.multihash.code === SHA3_256_CODE && cid.multihash.size === 32
}

export { CID }
