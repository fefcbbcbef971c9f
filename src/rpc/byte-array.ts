/**
 * `[b0,b1,…]`: the JSON array of the byte values, as UTF-8 bytes, which is how a subscription
 * in the `bytes` format (Homestar's) carries a notification. Written digit by digit into one
 * buffer of the exact size: going through an array of numbers and `JSON.stringify` costs tens
 * of times more for a large receipt (a 4 MiB one is a 20 MB array text) and blocks the event
 * loop for hundreds of milliseconds.
 */
export function byteArrayJson (bytes: Uint8Array): Buffer {
  let length = 2 + Math.max(0, bytes.length - 1)
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    length += b >= 100 ? 3 : b >= 10 ? 2 : 1
  }
  const out = Buffer.allocUnsafe(length)
  let o = 0
  out[o++] = 0x5b // [
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) out[o++] = 0x2c // ,
    const b = bytes[i]
    if (b >= 100) {
      out[o++] = 0x30 + Math.floor(b / 100)
      out[o++] = 0x30 + (Math.floor(b / 10) % 10)
    } else if (b >= 10) {
      out[o++] = 0x30 + Math.floor(b / 10)
    }
    out[o++] = 0x30 + (b % 10)
  }
  out[o] = 0x5d // ]
  return out
}
