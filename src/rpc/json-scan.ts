/**
 * Shallow reads of JSON text, for the checks that must come before a message is parsed:
 * where each request of a batch begins and ends, its id as the client wrote it, its method,
 * how many tasks a workflow carries. Values are skipped over, never built, and nothing
 * recurses, so a hostile text costs one linear pass and no stack.
 *
 * The reads are tolerant: they do not validate the text. A text they cannot follow is
 * reported as malformed (or a member as absent); `JSON.parse` runs afterwards on whatever is
 * accepted and reports the syntax errors.
 */

export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'literal' | 'invalid'

const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON = 58
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93
const OPEN_BRACE = 123
const CLOSE_BRACE = 125

function isWs (c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9
}

function skipWs (text: string, pos: number, end: number): number {
  while (pos < end && isWs(text.charCodeAt(pos))) pos++
  return pos
}

/** The position after the string that starts at `pos` (a quote), or -1 when it does not end. */
function skipString (text: string, pos: number, end: number): number {
  let from = pos + 1
  for (;;) {
    // the next quote, found natively; it ends the string unless an odd run of backslashes escapes it
    const quote = text.indexOf('"', from)
    if (quote < 0 || quote >= end) return -1
    let backslashes = 0
    for (let i = quote - 1; i > pos && text.charCodeAt(i) === BACKSLASH; i--) backslashes++
    if ((backslashes & 1) === 0) return quote + 1
    from = quote + 1
  }
}

/**
 * The position after the value that starts at `pos`, or -1 when it cannot be followed.
 * Containers are skipped by counting brackets outside strings (not by descending into them).
 */
function skipValue (text: string, pos: number, end: number): number {
  if (pos >= end) return -1
  const c = text.charCodeAt(pos)
  if (c === QUOTE) return skipString(text, pos, end)
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0
    for (let i = pos; i < end; i++) {
      const d = text.charCodeAt(i)
      if (d === QUOTE) {
        i = skipString(text, i, end) - 1
        if (i < 0) return -1
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) {
        depth++
      } else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1
      }
    }
    return -1
  }
  if (c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COMMA || c === COLON) return -1
  // a number or a literal: up to the next delimiter
  let i = pos
  while (i < end) {
    const d = text.charCodeAt(i)
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d === COLON || d === QUOTE || d === OPEN_BRACE || d === OPEN_BRACKET || isWs(d)) break
    i++
  }
  return i
}

/** A JSON value inside a text, by its bounds; read shallowly, on demand. */
export class JsonSpan {
  constructor (readonly text: string, readonly start: number, readonly end: number) {}

  get kind (): JsonKind {
    const c = this.text.charCodeAt(this.start)
    if (c === OPEN_BRACE) return 'object'
    if (c === OPEN_BRACKET) return 'array'
    if (c === QUOTE) return 'string'
    if (c === 45 || (c >= 48 && c <= 57)) return 'number'
    if (c === 116 || c === 102 || c === 110) return 'literal'
    return 'invalid'
  }

  /** Length of the value's text, in UTF-16 code units. */
  get length (): number {
    return this.end - this.start
  }

  /** The value's text as the client wrote it. */
  get raw (): string {
    return this.text.slice(this.start, this.end)
  }

  /**
   * The value of an object's member (the last one when a key repeats, as `JSON.parse` keeps
   * it); undefined when this is not an object, has no such member, or cannot be followed.
   */
  member (key: string): JsonSpan | undefined {
    return this.members([key])[0]
  }

  /** Several members in one pass: the value of each key of `keys`, in that order. */
  members (keys: readonly string[]): Array<JsonSpan | undefined> {
    const found = new Array<JsonSpan | undefined>(keys.length).fill(undefined)
    const { text, end } = this
    const ok = this.eachMemberStart((keyStart, keyEnd, start) => {
      const after = skipValue(text, start, end)
      if (after <= start) return after
      // the key's text is looked at once for escapes, not once for each key it is compared with
      const escaped = hasEscape(text, keyStart, keyEnd)
      for (let i = 0; i < keys.length; i++) {
        if (keyEquals(text, keyStart, keyEnd, keys[i], escaped)) found[i] = new JsonSpan(text, start, after)
      }
      return after
    }) >= 0
    return ok ? found : found.fill(undefined)
  }

  /** The `index`th element of an array. */
  element (index: number): JsonSpan | undefined {
    let found: JsonSpan | undefined
    let i = 0
    const ok = this.eachElement(value => {
      if (i++ === index) {
        found = value
        return false
      }
      return true
    })
    return ok || found !== undefined ? found : undefined
  }

  /** The elements of an array; undefined when this is not an array or cannot be followed. */
  elements (): JsonSpan[] | undefined {
    const out: JsonSpan[] = []
    return this.eachElement(value => { out.push(value); return true }) ? out : undefined
  }

  /** How many elements an array has, in one tight pass; undefined when this is not an array or its end cannot be found. */
  count (): number | undefined {
    return this.kind === 'array' ? countElements(this.text, this.start, this.end)?.count : undefined
  }

  /**
   * The number of elements of the array at each of `paths` (keys, and indexes of arrays),
   * in one pass over this value, as `JSON.parse` would read it: when a key repeats, its
   * last occurrence counts. undefined for a path that leads to no array. Only containers on
   * a path are descended into (the depth of the longest path); the rest are skipped.
   */
  countAt (paths: ReadonlyArray<ReadonlyArray<string | number>>): Array<number | undefined> {
    const results: Array<number | undefined> = paths.map(() => undefined)
    walk(this.text, this.start, this.end, paths, paths.map((_, i) => i), 0, results)
    return results
  }

  /** A string value, when this is a string of at most `maxLength` characters of text; undefined otherwise. */
  string (maxLength = 1024): string | undefined {
    if (this.kind !== 'string' || this.length > maxLength + 2) return undefined
    try {
      const value: unknown = JSON.parse(this.raw)
      return typeof value === 'string' ? value : undefined
    } catch {
      return undefined
    }
  }

  /** Calls `fn` with each element until it returns false; false when this is not an array or cannot be followed. */
  private eachElement (fn: (value: JsonSpan) => boolean): boolean {
    let stopped = false
    const ok = this.eachElementStart(start => {
      if (stopped) return -1
      const after = skipValue(this.text, start, this.end)
      if (after > start && !fn(new JsonSpan(this.text, start, after))) stopped = true
      return stopped ? -1 : after
    })
    return ok >= 0 && !stopped
  }

  /**
   * Goes through an object's members: `fn` gets where each key's text (quotes included)
   * starts and ends and where its value starts,
   * and returns where the value ends (-1: stop). Returns the position after the object, or -1.
   */
  eachMemberStart (fn: (keyStart: number, keyEnd: number, valueStart: number) => number): number {
    const { text, end } = this
    if (this.kind !== 'object') return -1
    let pos = skipWs(text, this.start + 1, end)
    if (text.charCodeAt(pos) === CLOSE_BRACE) return pos + 1
    for (;;) {
      if (text.charCodeAt(pos) !== QUOTE) return -1
      const keyStart = pos
      const keyEnd = skipString(text, pos, end)
      if (keyEnd < 0) return -1
      pos = skipWs(text, keyEnd, end)
      if (text.charCodeAt(pos) !== COLON) return -1
      pos = skipWs(text, pos + 1, end)
      const valueEnd = fn(keyStart, keyEnd, pos)
      if (valueEnd <= pos) return -1
      pos = skipWs(text, valueEnd, end)
      const c = text.charCodeAt(pos)
      if (c === CLOSE_BRACE) return pos + 1
      if (c !== COMMA) return -1
      pos = skipWs(text, pos + 1, end)
    }
  }

  /** Goes through an array's elements as `eachMemberStart` does an object's members. */
  eachElementStart (fn: (valueStart: number) => number): number {
    const { text, end } = this
    if (this.kind !== 'array') return -1
    let pos = skipWs(text, this.start + 1, end)
    if (text.charCodeAt(pos) === CLOSE_BRACKET) return pos + 1
    for (;;) {
      const valueEnd = fn(pos)
      if (valueEnd <= pos) return -1
      pos = skipWs(text, valueEnd, end)
      const c = text.charCodeAt(pos)
      if (c === CLOSE_BRACKET) return pos + 1
      if (c !== COMMA) return -1
      pos = skipWs(text, pos + 1, end)
    }
  }
}

/**
 * `countAt`'s pass over one value at `pos`, on which the paths `live` have matched their
 * first `depth` steps; returns the position after the value (-1 when it cannot be followed).
 * It recurses only along paths, so no deeper than the longest path.
 */
function walk (text: string, pos: number, end: number, paths: ReadonlyArray<ReadonlyArray<string | number>>, live: number[], depth: number, results: Array<number | undefined>): number {
  const here = new JsonSpan(text, pos, end)
  const kind = here.kind
  const ending = live.filter(p => paths[p].length === depth)
  const going = live.filter(p => paths[p].length > depth)
  if (kind === 'object' && going.length > 0) {
    return here.eachMemberStart((keyStart, keyEnd, valueStart) => {
      const next = going.filter(p => typeof paths[p][depth] === 'string' && keyEquals(text, keyStart, keyEnd, paths[p][depth]))
      // a key seen again: what its earlier occurrence led to no longer counts
      for (const p of next) results[p] = undefined
      return next.length > 0 ? walk(text, valueStart, end, paths, next, depth + 1, results) : skipValue(text, valueStart, end)
    })
  }
  if (kind === 'array' && going.length > 0) {
    let index = 0
    const ok = here.eachElementStart(valueStart => {
      const next = going.filter(p => paths[p][depth] === index)
      index++
      return next.length > 0 ? walk(text, valueStart, end, paths, next, depth + 1, results) : skipValue(text, valueStart, end)
    })
    if (ok >= 0) for (const p of ending) results[p] = index
    return ok
  }
  if (kind === 'array' && ending.length > 0) {
    const counted = countElements(text, pos, end)
    if (counted === undefined) return -1
    for (const p of ending) results[p] = counted.count
    return counted.end
  }
  return skipValue(text, pos, end)
}

/** The number of elements of the array at `pos` and the position after it, in one tight pass. */
function countElements (text: string, pos: number, end: number): { count: number, end: number } | undefined {
  let depth = 0
  let commas = 0
  let empty = true
  for (let i = pos + 1; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      for (i++; i < end; i++) {
        const d = text.charCodeAt(i)
        if (d === BACKSLASH) i++
        else if (d === QUOTE) break
      }
      empty = false
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++
      empty = false
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) return { count: empty ? 0 : commas + 1, end: i + 1 }
      depth--
    } else if (c === COMMA) {
      if (depth === 0) commas++
    } else if (!isWs(c)) {
      empty = false
    }
  }
  return undefined
}

/** Whether a key's text (from its opening quote to after its closing one) has an escape in it. */
function hasEscape (text: string, start: number, end: number): boolean {
  for (let i = start + 1; i < end - 1; i++) {
    if (text.charCodeAt(i) === BACKSLASH) return true
  }
  return false
}

/**
 * Whether a key's text (from its opening quote to after its closing one) reads as `key`:
 * compared as it is written unless it has escapes (`escaped`), which are decoded then.
 */
function keyEquals (text: string, start: number, end: number, key: string, escaped = hasEscape(text, start, end)): boolean {
  if (escaped) return new JsonSpan(text, start, end).string(key.length * 6) === key
  return end - start - 2 === key.length && text.startsWith(key, start + 1)
}

/** What one pass over a message found: a request or a batch of them, by their spans. */
export type FrameScan =
  | { kind: 'message', batch: boolean, items: JsonSpan[] }
  | { kind: 'too_deep' }
  | { kind: 'malformed' }

/**
 * One linear pass over a JSON-RPC message: whether it nests arrays and objects deeper than
 * `maxDepth` (brackets inside strings do not count), whether it is a batch, and the span of
 * each request (of each element of a batch, or of the whole message). `malformed` when the
 * text is not one JSON value the pass can follow (unclosed, trailing text, empty elements).
 */
export function scanFrame (text: string, maxDepth: number): FrameScan {
  const end = text.length
  const first = skipWs(text, 0, end)
  if (first >= end) return { kind: 'malformed' }
  const batch = text.charCodeAt(first) === OPEN_BRACKET
  const items: JsonSpan[] = []
  let depth = 0
  let itemStart = -1
  let closed = -1
  for (let i = first; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      if (batch && depth === 1 && itemStart < 0) itemStart = i
      const after = skipString(text, i, end)
      if (after < 0) return { kind: 'malformed' }
      i = after - 1
      if (depth === 0) {
        closed = after
        break
      }
      continue
    }
    if (isWs(c)) continue
    if (batch && depth === 1) {
      if (c === COMMA || c === CLOSE_BRACKET) {
        if (itemStart < 0) {
          // `[,…`, `[…,,…]` and `[…,]` have an empty element; `[]` is an empty batch
          if (c === COMMA || items.length > 0) return { kind: 'malformed' }
        } else {
          items.push(new JsonSpan(text, itemStart, trimEnd(text, itemStart, i)))
          itemStart = -1
        }
        if (c === CLOSE_BRACKET) {
          closed = i + 1
          break
        }
        continue
      }
      if (itemStart < 0) itemStart = i
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return { kind: 'too_deep' }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      // only `]` at depth 1 (above) closes a batch
      if (--depth < 0 || (batch && depth === 0)) return { kind: 'malformed' }
      if (depth === 0) {
        closed = i + 1
        break
      }
    } else if (depth === 0) {
      // a number or a literal on its own
      closed = skipValue(text, i, end)
      break
    }
  }
  if (closed < 0 || skipWs(text, closed, end) < end) return { kind: 'malformed' }
  if (!batch) items.push(new JsonSpan(text, first, closed))
  return { kind: 'message', batch, items }
}

function trimEnd (text: string, start: number, end: number): number {
  while (end > start && isWs(text.charCodeAt(end - 1))) end--
  return end
}
