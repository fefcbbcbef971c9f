import { BinaryFormatError, type ByteReader } from './binary-reader.js'
import { readValType } from './core-module.js'

/**
 * Skipping instruction immediates, for walking function bodies. Covers MVP, SIMD,
 * threads, bulk memory, reference types, tail calls and exceptions; anything else
 * (e.g. GC) throws, and the caller leaves the module as it is.
 */
export function skipImmediates (r: ByteReader, op: number): void {
  if ((op >= 0x45 && op <= 0xc4) || NO_IMMEDIATES.has(op)) return
  if (op >= 0x28 && op <= 0x3e) return skipMemarg(r)
  switch (op) {
    case 0x02: case 0x03: case 0x04: case 0x06:
      return skipBlockType(r)
    case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x14: case 0x15: case 0x18:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0x3f: case 0x40:
    case 0xd2: case 0xd5: case 0xd6:
      r.u32()
      return
    case 0x11: case 0x13:
      r.u32()
      r.u32()
      return
    case 0x0e:
      r.vec(r => r.u32())
      r.u32()
      return
    case 0x1c:
      r.vec(readValType)
      return
    case 0x1f:
      skipBlockType(r)
      r.vec(r => {
        if (r.u8() <= 0x01) r.u32()
        r.u32()
      })
      return
    case 0x41: case 0x42: case 0xd0:
      r.skipLeb()
      return
    case 0x43:
      return r.skip(4)
    case 0x44:
      return r.skip(8)
    case 0xfc:
      return skipPrefixedFc(r, r.u32())
    case 0xfd:
      return skipPrefixedFd(r, r.u32())
    case 0xfe:
      return skipPrefixedFe(r, r.u32())
    default:
      throw new BinaryFormatError(`unsupported opcode 0x${op.toString(16)}`)
  }
}

const NO_IMMEDIATES = new Set([0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd3, 0xd4])

function skipBlockType (r: ByteReader): void {
  const b = r.peek()
  if (b === 0x63 || b === 0x64) r.u8()
  r.s33()
}

function skipMemarg (r: ByteReader): void {
  const align = r.u32()
  if ((align & 0x40) !== 0) r.u32()
  r.skipLeb()
}

/** Bulk memory and saturating truncation (`0xfc` prefix). */
export function skipPrefixedFc (r: ByteReader, sub: number): void {
  if (sub <= 7) return
  if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
    r.u32()
    r.u32()
  } else if (sub <= 17) {
    r.u32()
  } else {
    throw new BinaryFormatError(`unsupported opcode 0xfc ${sub}`)
  }
}

function skipPrefixedFd (r: ByteReader, sub: number): void {
  if (sub <= 11 || sub === 92 || sub === 93) return skipMemarg(r)
  if (sub === 12 || sub === 13) return r.skip(16)
  if (sub >= 21 && sub <= 34) return r.skip(1)
  if (sub >= 84 && sub <= 91) {
    skipMemarg(r)
    r.skip(1)
    return
  }
  if (sub > 0x113) throw new BinaryFormatError(`unsupported opcode 0xfd ${sub}`)
}

function skipPrefixedFe (r: ByteReader, sub: number): void {
  if (sub === 0x03) return r.skip(1)
  if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) return skipMemarg(r)
  throw new BinaryFormatError(`unsupported opcode 0xfe ${sub}`)
}
