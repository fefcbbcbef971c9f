/** Concatenates byte chunks (a plain Uint8Array, not a Buffer). */
export function concatBytes (chunks: ReadonlyArray<Uint8Array | readonly number[]>): Uint8Array {
  let length = 0
  for (const c of chunks) length += c.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

/** Whether two byte strings are equal. */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The chunks of `source`, until together they pass `limit` bytes: then it throws
 * `tooBig(size)` and the rest is not read (the source is closed).
 */
export async function * capped<E extends Error> (source: AsyncIterable<Uint8Array>, limit: number, tooBig: (size: number) => E): AsyncGenerator<Uint8Array> {
  let size = 0
  for await (const chunk of source) {
    size += chunk.byteLength
    if (size > limit) throw tooBig(size)
    yield chunk
  }
}
