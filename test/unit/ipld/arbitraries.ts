import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { Float, base32HexEncode, toDagJson, type Ipld, type IpldMap } from '../../../src/ipld/index.js'

/** Arbitrary IPLD values in the node's normalized in-memory form, for property tests. */

const I64_MIN = -(1n << 63n)
const U64_MAX = (1n << 64n) - 1n

export const linkArb: fc.Arbitrary<CID> = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(0x71, 0x55, 0x70), fc.constantFrom(0x16, 0x12))
  .map(([digest, codec, hash]) => CID.createV1(codec, Digest.create(hash, digest)))

const integerArb: fc.Arbitrary<Ipld> = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: I64_MIN, max: U64_MAX }).map((n) => Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? Number(n) : n)
)

const wholeFloatArb: fc.Arbitrary<Ipld> = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => Number.isInteger(x)),
  fc.constantFrom(-0, 2 ** 64, 1e16, 1e21)
).map((x) => new Float(x))

const fractionArb: fc.Arbitrary<Ipld> = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x))

const stringArb = fc.string({ unit: 'binary', maxLength: 12 })

export interface IpldArbOptions {
  /** Leave out maps that DAG-JSON cannot represent (a single `/` key). */
  jsonSafe?: boolean
}

export function ipldArb (options: IpldArbOptions = {}): fc.Arbitrary<Ipld> {
  const { value } = fc.letrec<{ value: Ipld }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      integerArb,
      wholeFloatArb,
      fractionArb,
      stringArb,
      fc.uint8Array({ maxLength: 24 }),
      linkArb,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(stringArb, fc.constantFrom('/', 'bytes', '__proto__')), tie('value'), { maxKeys: 4 })
        .filter((map) => options.jsonSafe !== true || !Object.hasOwn(map, '/'))
    )
  }))
  return value
}

const WASM = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'

/** Workflows with JSON-safe content, every nonce form, awaits, links, and extra keys. */
export const workflowArb: fc.Arbitrary<IpldMap> = fc.array(
  fc.record({
    run: fc.record({
      rsc: fc.constantFrom(WASM, 'https://example.com/a.wasm'),
      op: fc.constantFrom('wasm/run', ' WASM/run '),
      input: fc.record({
        func: stringArb,
        args: fc.array(fc.oneof(ipldArb({ jsonSafe: true }), linkArb.map((cid) => ({ 'await/ok': cid }))), { maxLength: 4 })
      }),
      nnc: fc.oneof(
        fc.constant<Ipld>(''),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => base32HexEncode(b) as Ipld)
      )
    }),
    meta: ipldArb({ jsonSafe: true }),
    prf: fc.array(linkArb, { maxLength: 2 }),
    cause: fc.option(linkArb, { nil: null }),
    extra: fc.option(stringArb, { nil: undefined })
  }, { requiredKeys: ['run', 'meta', 'prf'] }),
  { maxLength: 4 }
).map((tasks) => ({ tasks: tasks.map(stripUndefined) }))

function stripUndefined (map: object): IpldMap {
  return Object.fromEntries<Ipld>(Object.entries(map).filter(([, v]) => v !== undefined))
}

/**
 * Writes `value` as JSON text with map keys in a random order and random whitespace between
 * tokens; leaves (links, bytes, numbers, strings) use the DAG-JSON writer.
 */
export function writeShuffled (value: Ipld, random: () => number): string {
  const ws = (): string => [' ', '\n', '\t', '\r\n', '', '  '][Math.floor(random() * 6)]
  if (Array.isArray(value)) return '[' + ws() + value.map((v) => writeShuffled(v, random)).join(ws() + ',' + ws()) + ws() + ']'
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !(value instanceof Float) && CID.asCID(value) === null) {
    const keys = Object.keys(value)
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [keys[i], keys[j]] = [keys[j], keys[i]]
    }
    return '{' + ws() + keys.map((k) => JSON.stringify(k) + ws() + ':' + ws() + writeShuffled((value as IpldMap)[k], random)).join(',' + ws()) + ws() + '}'
  }
  return toDagJson(value)
}
