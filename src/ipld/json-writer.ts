import { cidText } from './cid.js'
import { cidIn } from './kinds.js'
import { base64Encode } from './encoding.js'
import { IpldError, IpldErrorCode } from './errors.js'
import { compareUtf8 } from './kinds.js'
import { Float, type Ipld, type IpldMap } from './value.js'

/**
 * DAG-JSON text of an IPLD value exactly as libipld-json 0.16 / serde_json write it: no
 * whitespace, map keys in bytewise (UTF-8) order, links `{"/":"<cid>"}` (CIDv1 base32,
 * CIDv0 base58btc), bytes `{"/":{"bytes":"<base64, no padding>"}}`, integers in decimal and
 * floats the way serde_json (ryu) prints them: `5.0`, `0.1`, `1e-7`, `1.8446744073709552e19`;
 * NaN and ±Infinity become `null`. Throws `IPLD_ENCODE` for values outside the data model.
 */
export function toDagJson (value: Ipld): string {
  return write(value)
}

function write (value: Ipld): string {
  switch (typeof value) {
    case 'string': return JSON.stringify(value)
    case 'boolean': return value ? 'true' : 'false'
    case 'bigint': return value.toString()
    case 'number': return Number.isSafeInteger(value) ? String(value) : formatFloat(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ','
          out += write(value[i])
        }
        return out + ']'
      }
      if (value instanceof Uint8Array) return '{"/":{"bytes":"' + base64Encode(value) + '"}}'
      if (value instanceof Float) return formatFloat(value.value)
      const cid = cidIn(value)
      if (cid !== null) return '{"/":"' + cidText(cid) + '"}'
      return writeMap(value as IpldMap)
    }
    default:
      throw new IpldError(IpldErrorCode.ENCODE, `${typeof value} is not an IPLD value`)
  }
}

function writeMap (map: IpldMap): string {
  const keys = Object.keys(map).sort(compareUtf8)
  let out = '{'
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]
    const item = map[key]
    if (item === undefined) throw new IpldError(IpldErrorCode.ENCODE, `undefined is not an IPLD value (key ${JSON.stringify(key)})`)
    if (i > 0) out += ','
    out += JSON.stringify(key) + ':' + write(item)
  }
  return out + '}'
}

/**
 * A float as serde_json 1.0 writes it (ryu's `format64`): the shortest round-trip digits,
 * in plain notation with a `.0` suffix for whole numbers below 1e16, `0.000ddd` down to 1e-5,
 * and `d.ddde<exp>` (no `+`) outside that range. NaN and ±Infinity are `null`.
 */
export function formatFloat (x: number): string {
  if (!Number.isFinite(x)) return 'null'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const sign = x < 0 ? '-' : ''
  // toExponential() without an argument gives the shortest digits that round-trip, like ryu
  const exp = Math.abs(x).toExponential()
  const e = exp.indexOf('e')
  const digits = exp.charCodeAt(1) === 46 ? exp[0] + exp.slice(2, e) : exp.slice(0, e)
  const length = digits.length
  const kk = Number(exp.slice(e + 1)) + 1 // the decimal point sits after kk digits
  const k = kk - length
  let body: string
  if (k >= 0 && kk <= 16) {
    body = digits + '0'.repeat(k) + '.0'
  } else if (kk > 0 && kk <= 16) {
    body = digits.slice(0, kk) + '.' + digits.slice(kk)
  } else if (kk > -5 && kk <= 0) {
    body = '0.' + '0'.repeat(-kk) + digits
  } else if (length === 1) {
    body = digits + 'e' + String(kk - 1)
  } else {
    body = digits[0] + '.' + digits.slice(1) + 'e' + String(kk - 1)
  }
  return sign + body
}
