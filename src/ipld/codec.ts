import * as dagCbor from '@ipld/dag-cbor'
import * as cborg from 'cborg'
import { CID } from 'multiformats/cid'
import { cidIn } from './kinds.js'
import { IpldError, IpldErrorCode } from './errors.js'
import { Float, type Ipld } from './value.js'

export { concatBytes } from '../util/bytes.js'

/**
 * Canonical DAG-CBOR, byte-identical to libipld 0.16 (Homestar): map keys length-first then
 * bytewise, shortest integer heads, every float as float64 (`fb`), links as tag 42 over
 * `00 ‖ cid bytes`, definite lengths only. This is @ipld/dag-cbor's cborg configuration plus
 * what it cannot express: a whole-number `Float` is written as a float (not an integer) and
 * read back as a `Float`, so `decode(encode(v))` gives `v` again and CIDs survive a round trip.
 */

const { Token, Type } = cborg
const CID_TAG = 42
const U64_MAX = (1n << 64n) - 1n
const NEG_MIN = -(1n << 64n)

function encodeError (message: string): IpldError {
  return new IpldError(IpldErrorCode.ENCODE, message)
}

/** Every non-array object goes through here: Float, CID, or (returning null) a plain map. */
function objectEncoder (obj: object): cborg.Token[] | null {
  if (obj instanceof Float) {
    const value = obj.value
    if (!Number.isFinite(value)) throw encodeError(`${value} is not an IPLD float`)
    return [new Token(Type.float, value)]
  }
  if (('asCID' in obj && obj.asCID === obj) || obj instanceof CID) {
    const cid = cidIn(obj)
    if (cid !== null) {
      const bytes = new Uint8Array(cid.bytes.byteLength + 1)
      bytes.set(cid.bytes, 1)
      return [new Token(Type.tag, CID_TAG), new Token(Type.bytes, bytes)]
    }
  }
  return null
}

function numberEncoder (num: number): null {
  if (!Number.isFinite(num)) throw encodeError(`${num} is not an IPLD number`)
  return null
}

function bigintEncoder (num: bigint): null {
  if (num > U64_MAX || num < NEG_MIN) throw encodeError(`integer ${num} does not fit in 64 bits`)
  return null
}

function undefinedEncoder (): null {
  throw encodeError('undefined is not an IPLD value')
}

function mapEncoder (): null {
  throw encodeError('a Map is not an IPLD value: use a plain object')
}

const encodeOptions: cborg.EncodeOptions = {
  ...dagCbor.encodeOptions,
  float64: true,
  typeEncoders: {
    ...dagCbor.encodeOptions.typeEncoders,
    Object: objectEncoder,
    Map: mapEncoder,
    number: numberEncoder,
    bigint: bigintEncoder,
    undefined: undefinedEncoder
  }
}

/**
 * cborg's tokenizer, except that whole-number floats come out as `Float`, and bytes as plain
 * `Uint8Array` (cborg gives Node `Buffer`s; the view shares their memory).
 */
class FloatPreservingTokenizer extends cborg.Tokenizer {
  override next (): cborg.Token {
    const token = super.next()
    if (token.type === Type.float) {
      const value: unknown = token.value
      if (typeof value === 'number' && Number.isInteger(value)) token.value = new Float(value)
    } else if (token.type === Type.bytes && Buffer.isBuffer(token.value)) {
      const buf: Buffer = token.value
      token.value = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    return token
  }
}

const decodeOptions: cborg.DecodeOptions = { ...dagCbor.decodeOptions }

/** Canonical DAG-CBOR bytes of an IPLD value. Throws `IPLD_ENCODE` for values outside the data model. */
export function encode (value: Ipld): Uint8Array {
  try {
    return cborg.encode(value, encodeOptions)
  } catch (err) {
    if (err instanceof IpldError) throw err
    throw new IpldError(IpldErrorCode.ENCODE, `cannot encode as DAG-CBOR: ${(err as Error).message}`, undefined, { cause: err })
  }
}

/**
 * Decodes DAG-CBOR (strict: shortest integer heads, definite lengths, string keys, no
 * duplicate keys, only tag 42). Whole-number floats become `Float`. Throws `IPLD_DECODE`.
 */
export function decode (bytes: Uint8Array): Ipld {
  try {
    const tokenizer = new FloatPreservingTokenizer(bytes, decodeOptions)
    return cborg.decode(bytes, { ...decodeOptions, tokenizer }) as Ipld
  } catch (err) {
    throw new IpldError(IpldErrorCode.DECODE, `invalid DAG-CBOR: ${(err as Error).message}`, undefined, { cause: err })
  }
}

/** The CBOR head of a definite-length item: major type and length/value, shortest form. */
export function cborHead (major: number, length: number): Uint8Array {
  const m = major << 5
  if (length < 24) return Uint8Array.of(m | length)
  if (length < 0x100) return Uint8Array.of(m | 24, length)
  if (length < 0x10000) return Uint8Array.of(m | 25, length >>> 8, length & 0xff)
  if (length < 0x100000000) return Uint8Array.of(m | 26, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
  const out = new Uint8Array(9)
  out[0] = m | 27
  new DataView(out.buffer).setBigUint64(1, BigInt(length))
  return out
}
