import { tryParseCid } from './cid.js'
import { base64Decode } from './encoding.js'
import { IpldError, IpldErrorCode } from './errors.js'
import { Float, type Ipld, type IpldMap } from './value.js'

/**
 * DAG-JSON reader with the semantics of libipld-json 0.16 over serde_json (Homestar's
 * reader). Unlike `JSON.parse` it keeps each number's lexical form:
 * - an integer literal in [i64::MIN, u64::MAX] is an integer (`number` when safe, else `bigint`);
 * - `-0`, integer literals out of that range, and every literal with `.`, `e` or `E` are floats
 *   (`Float` when the value is whole, e.g. `1.0`, else `number`);
 * - `{"/": "<cid>"}` (exactly one entry) is a link; an invalid CID rejects the document;
 * - `{"/": {"bytes": "<base64>"}}` (inner map whose first key in sorted order is `bytes`) is bytes;
 * - duplicate keys: the last one wins (but `{"/": a, "/": b}` has two entries, so it is a map).
 */

export interface ParseJsonOptions {
  /**
   * Deepest nesting of arrays and objects accepted. serde_json stops at 128 levels, so 127 is
   * the deepest document Homestar reads.
   * @default 127
   */
  maxDepth?: number
}

const DEFAULT_MAX_DEPTH = 127
const I64_MIN = -(1n << 63n)
const U64_MAX = (1n << 64n) - 1n
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Parses one JSON text (string or UTF-8 bytes) into IPLD. Throws `IpldError` with a line and column. */
export function parseJson (text: string | Uint8Array, options: ParseJsonOptions = {}): Ipld {
  let source: string
  if (typeof text === 'string') {
    source = text
  } else {
    try {
      source = utf8.decode(text)
    } catch (err) {
      throw new IpldError(IpldErrorCode.JSON_SYNTAX, 'invalid UTF-8 in JSON text', { line: 1, column: 1, offset: 0 }, { cause: err })
    }
  }
  return new JsonReader(source, options.maxDepth ?? DEFAULT_MAX_DEPTH).document()
}

class JsonReader {
  private pos = 0
  private depth = 0
  private readonly len: number

  constructor (private readonly src: string, private readonly maxDepth: number) {
    this.len = src.length
  }

  document (): Ipld {
    const value = this.value()
    this.skipWs()
    if (this.pos < this.len) this.fail('trailing characters')
    return value
  }

  private fail (message: string, at = this.pos, code: IpldErrorCode = IpldErrorCode.JSON_SYNTAX): never {
    let line = 1
    let lineStart = 0
    for (let i = 0; i < at && i < this.len; i++) {
      if (this.src.charCodeAt(i) === 10) {
        line++
        lineStart = i + 1
      }
    }
    const column = at - lineStart + 1
    throw new IpldError(code, `${message} at line ${line} column ${column}`, { line, column, offset: at })
  }

  private skipWs (): void {
    const src = this.src
    let pos = this.pos
    while (pos < this.len) {
      const c = src.charCodeAt(pos)
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break
      pos++
    }
    this.pos = pos
  }

  private value (): Ipld {
    this.skipWs()
    if (this.pos >= this.len) this.fail('EOF while parsing a value')
    const c = this.src.charCodeAt(this.pos)
    switch (c) {
      case 34: return this.string()
      case 123: return this.object()
      case 91: return this.array()
      case 116: return this.literal('true', true)
      case 102: return this.literal('false', false)
      case 110: return this.literal('null', null)
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number()
        return this.fail('expected value')
    }
  }

  private literal<T extends Ipld> (word: string, value: T): T {
    const end = this.pos + word.length
    for (let i = this.pos + 1; i < end; i++) {
      if (i >= this.len) this.fail('EOF while parsing a value', i)
      if (this.src.charCodeAt(i) !== word.charCodeAt(i - this.pos)) this.fail('expected ident', i)
    }
    this.pos = end
    return value
  }

  private enter (): void {
    if (++this.depth > this.maxDepth) this.fail('recursion limit exceeded', this.pos, IpldErrorCode.JSON_DEPTH)
    this.pos++
  }

  private array (): Ipld[] {
    this.enter()
    const out: Ipld[] = []
    this.skipWs()
    if (this.src.charCodeAt(this.pos) === 93) {
      this.pos++
      this.depth--
      return out
    }
    for (;;) {
      out.push(this.value())
      this.skipWs()
      const c = this.src.charCodeAt(this.pos)
      if (c === 44) {
        this.pos++
        this.skipWs()
        if (this.src.charCodeAt(this.pos) === 93) this.fail('trailing comma')
      } else if (c === 93) {
        this.pos++
        break
      } else {
        this.fail(this.pos >= this.len ? 'EOF while parsing a list' : 'expected `,` or `]`')
      }
    }
    this.depth--
    return out
  }

  private object (): Ipld {
    const start = this.pos
    this.enter()
    const out: IpldMap = {}
    let entries = 0
    let firstKey = ''
    let firstValue: Ipld = null
    this.skipWs()
    if (this.src.charCodeAt(this.pos) === 125) {
      this.pos++
      this.depth--
      return out
    }
    for (;;) {
      if (this.pos >= this.len) this.fail('EOF while parsing an object')
      if (this.src.charCodeAt(this.pos) !== 34) this.fail('key must be a string')
      const key = this.string()
      this.skipWs()
      if (this.src.charCodeAt(this.pos) !== 58) this.fail(this.pos >= this.len ? 'EOF while parsing an object' : 'expected `:`')
      this.pos++
      const value = this.value()
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value, configurable: true, enumerable: true, writable: true })
      } else {
        out[key] = value
      }
      if (entries++ === 0) {
        firstKey = key
        firstValue = value
      }
      this.skipWs()
      const c = this.src.charCodeAt(this.pos)
      if (c === 44) {
        this.pos++
        this.skipWs()
        if (this.src.charCodeAt(this.pos) === 125) this.fail('trailing comma')
      } else if (c === 125) {
        this.pos++
        break
      } else {
        this.fail(this.pos >= this.len ? 'EOF while parsing an object' : 'expected `,` or `}`')
      }
    }
    this.depth--
    if (entries === 1 && firstKey === '/') return this.special(firstValue, out, start)
    return out
  }

  /** `{"/": ...}` with one entry: a link, bytes, or (anything else) a plain map. */
  private special (inner: Ipld, map: IpldMap, start: number): Ipld {
    if (typeof inner === 'string') {
      const cid = tryParseCid(inner)
      if (cid === undefined) this.fail(`invalid CID ${JSON.stringify(inner.length > 100 ? inner.slice(0, 100) + '…' : inner)}`, start, IpldErrorCode.INVALID_CID)
      return cid
    }
    if (typeof inner === 'object' && inner !== null && Object.getPrototypeOf(inner) === Object.prototype) {
      const innerMap = inner as IpldMap
      const bytes = Object.hasOwn(innerMap, 'bytes') ? innerMap.bytes : undefined
      if (typeof bytes === 'string' && isFirstKeyBytes(innerMap)) {
        const decoded = base64Decode(bytes)
        if (decoded === undefined) this.fail('bytes kind must be base-64 encoded', start, IpldErrorCode.INVALID_BYTES)
        return decoded
      }
    }
    return map
  }

  private string (): string {
    const src = this.src
    const len = this.len
    let pos = this.pos + 1
    let chunk = pos
    let out = ''
    while (pos < len) {
      const c = src.charCodeAt(pos)
      if (c === 34) {
        this.pos = pos + 1
        return out === '' ? src.slice(chunk, pos) : out + src.slice(chunk, pos)
      }
      if (c === 92) {
        out += src.slice(chunk, pos) + this.escape(pos)
        pos = this.escapeEnd
        chunk = pos
        continue
      }
      if (c < 32) this.fail('control character (\\u0000-\\u001F) found while parsing a string', pos)
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = src.charCodeAt(pos + 1)
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail('invalid unicode code point', pos)
        pos += 2
        continue
      }
      pos++
    }
    return this.fail('EOF while parsing a string', pos)
  }

  /** Position after the escape that {@link escape} read last. */
  private escapeEnd = 0

  /** Reads the escape at `pos` (a backslash) and returns its text; sets `escapeEnd`. */
  private escape (pos: number): string {
    const c = this.src.charCodeAt(pos + 1)
    this.escapeEnd = pos + 2
    switch (c) {
      case 34: return '"'
      case 92: return '\\'
      case 47: return '/'
      case 98: return '\b'
      case 102: return '\f'
      case 110: return '\n'
      case 114: return '\r'
      case 116: return '\t'
      case 117: {
        const unit = this.hex4(pos + 2)
        if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone leading surrogate in hex escape', pos + 6)
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (this.src.charCodeAt(pos + 6) !== 92 || this.src.charCodeAt(pos + 7) !== 117) this.fail('unexpected end of hex escape', pos + 6)
          const low = this.hex4(pos + 8)
          if (low < 0xdc00 || low > 0xdfff) this.fail('lone leading surrogate in hex escape', pos + 12)
          this.escapeEnd = pos + 12
          return String.fromCharCode(unit, low)
        }
        this.escapeEnd = pos + 6
        return String.fromCharCode(unit)
      }
      default:
        if (pos + 1 >= this.len) this.fail('EOF while parsing a string', pos + 1)
        return this.fail('invalid escape', pos + 1)
    }
  }

  private hex4 (at: number): number {
    let value = 0
    for (let i = at; i < at + 4; i++) {
      if (i >= this.len) this.fail('EOF while parsing a string', i)
      const c = this.src.charCodeAt(i)
      let digit: number
      if (c >= 48 && c <= 57) digit = c - 48
      else if (c >= 97 && c <= 102) digit = c - 87
      else if (c >= 65 && c <= 70) digit = c - 55
      else return this.fail('invalid escape', i)
      value = value * 16 + digit
    }
    return value
  }

  private number (): Ipld {
    const src = this.src
    const start = this.pos
    let pos = start
    const negative = src.charCodeAt(pos) === 45
    if (negative) pos++
    const digitsStart = pos
    let c = src.charCodeAt(pos)
    let small = 0
    if (c === 48) {
      pos++
      c = src.charCodeAt(pos)
      if (c >= 48 && c <= 57) this.fail('invalid number', pos)
    } else if (c >= 49 && c <= 57) {
      while (c >= 48 && c <= 57) {
        small = small * 10 + (c - 48)
        c = src.charCodeAt(++pos)
      }
    } else {
      this.fail(pos >= this.len ? 'EOF while parsing a value' : 'invalid number', pos)
    }
    const intDigits = pos - digitsStart
    let isFloat = false
    if (c === 46) {
      isFloat = true
      c = src.charCodeAt(++pos)
      if (!(c >= 48 && c <= 57)) this.fail(pos >= this.len ? 'EOF while parsing a value' : 'invalid number', pos)
      while (c >= 48 && c <= 57) c = src.charCodeAt(++pos)
    }
    if (c === 101 || c === 69) {
      isFloat = true
      c = src.charCodeAt(++pos)
      if (c === 43 || c === 45) c = src.charCodeAt(++pos)
      if (!(c >= 48 && c <= 57)) this.fail(pos >= this.len ? 'EOF while parsing a value' : 'invalid number', pos)
      while (c >= 48 && c <= 57) c = src.charCodeAt(++pos)
    }
    this.pos = pos
    if (!isFloat) {
      if (intDigits <= 15) {
        if (!negative) return small
        return small === 0 ? new Float(-0) : -small
      }
      const big = BigInt(src.slice(start, pos))
      if (negative ? big >= I64_MIN : big <= U64_MAX) {
        return big >= Number.MIN_SAFE_INTEGER && big <= Number.MAX_SAFE_INTEGER ? Number(big) : big
      }
    }
    const f = Number(src.slice(start, pos))
    if (!Number.isFinite(f)) this.fail('number out of range', start, IpldErrorCode.JSON_NUMBER_RANGE)
    return Number.isInteger(f) ? new Float(f) : f
  }
}

/** True when `bytes` is the first key of the map in sorted (UTF-8) order, as libipld checks. */
function isFirstKeyBytes (map: IpldMap): boolean {
  for (const key in map) {
    // 'bytes' is ASCII, so UTF-16 order and UTF-8 order agree when comparing against it
    if (key < 'bytes') return false
  }
  return true
}
