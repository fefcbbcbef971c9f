import { createHash } from 'node:crypto'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { bases } from 'multiformats/basics'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { from } from 'multiformats/hashes/hasher'
import { encode } from './codec.js'
import { base32Multibase } from './encoding.js'
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

/** The first bytes of every Homestar CID: version 1, dag-cbor, sha3-256, 32 bytes of digest. */
const HOMESTAR_CID_PREFIX = Uint8Array.of(1, DAG_CBOR_CODE, SHA3_256_CODE, 32)

/**
 * CIDv1(dag-cbor, sha3-256) of bytes that are already DAG-CBOR. The same CID as
 * `CID.createV1(DAG_CBOR_CODE, sha3256.digest(bytes))`, built on one 36-byte buffer that its
 * bytes, its multihash and its digest are views of. multiformats gives each of the three
 * its own buffer, ~1 kB of heap a CID against ~550 bytes here; a workflow holds two a task.
 */
export function cidOfBytes (bytes: Uint8Array): CID {
  const hash = sha3256Native?.(bytes) ?? sha3256Noble(bytes)
  const cid = new Uint8Array(HOMESTAR_CID_PREFIX.length + hash.length)
  cid.set(HOMESTAR_CID_PREFIX)
  cid.set(hash, HOMESTAR_CID_PREFIX.length)
  const multihash = cid.subarray(2)
  return new CID(1, DAG_CBOR_CODE, new Digest.Digest(SHA3_256_CODE, hash.length, multihash.subarray(2), multihash), cid)
}

/** CIDv1(dag-cbor, sha3-256) of the canonical DAG-CBOR of `value`: how Homestar names every object. */
export function cidOf (value: Ipld): CID {
  return cidOfBytes(encode(value))
}

/**
 * `cid.toString()`, as one flat string. multiformats' base32 encoder builds the text a
 * character at a time, which V8 keeps as a tree of some 50 pieces (about 1.5 kB instead of
 * 80 bytes) until something flattens it, and the CID caches that tree for its life (for a
 * receipt remembered by the network, as long as it is remembered). Reading the text as a
 * number flattened it in place, but not always (a third of a 10 000-task run's task ids
 * stayed trees). A CIDv1 is written here into a buffer and read out as one string, and the
 * CID's cache is left alone; a CIDv0 (base58btc, rare) is flattened by reading it as a number.
 * For every string kept beyond a call (ids, map keys, lock keys).
 */
export function cidText (cid: CID): string {
  if (cid.version === 0) {
    const text = cid.toString()
    void Number(text)
    return text
  }
  return base32Multibase(cid.bytes)
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
