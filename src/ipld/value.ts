import type { CID } from 'multiformats/cid'

/**
 * A float whose value is a whole number (`1.0`, `2^64`, `-0`). JavaScript cannot tell
 * `1.0` from `1`, but IPLD (and therefore every CID) can: Homestar encodes such a value as
 * a CBOR float64 and prints it as `1.0`. Floats with a fraction are plain `number`s.
 */
export class Float {
  readonly value: number
  constructor (value: number) {
    this.value = value
  }

  valueOf (): number {
    return this.value
  }
}

/**
 * The IPLD data model as this node holds it in memory.
 * - integers: `number` when a safe integer, `bigint` otherwise (range [-2^63, 2^64-1]);
 * - floats: a non-integral `number`, or a `Float` for whole-number floats;
 * - bytes: `Uint8Array`; links: `CID`; maps: plain objects with string keys.
 */
export type Ipld = null | boolean | number | bigint | Float | string | Uint8Array | CID | Ipld[] | IpldMap
export interface IpldMap { [key: string]: Ipld }
