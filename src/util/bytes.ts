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
