/** Thrown when the bytes do not follow the Wasm binary format as far as we read it. */
export class BinaryFormatError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BinaryFormatError'
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: true })

/** A cursor over Wasm binary data (LEB128 integers, names, vectors). */
export class ByteReader {
  pos: number
  readonly end: number

  constructor (readonly bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.pos = pos
    this.end = end
  }

  eof (): boolean {
    return this.pos >= this.end
  }

  peek (): number {
    if (this.pos >= this.end) throw new BinaryFormatError('unexpected end of data')
    return this.bytes[this.pos]
  }

  u8 (): number {
    if (this.pos >= this.end) throw new BinaryFormatError('unexpected end of data')
    return this.bytes[this.pos++]
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32 (): number {
    let result = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      const byte = this.u8()
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) {
        if (result > 0xffffffff) throw new BinaryFormatError('u32 out of range')
        return result
      }
      shift += 7
    }
    throw new BinaryFormatError('u32 too long')
  }

  /** Signed LEB128 (s33 and smaller) as a number. */
  s33 (): number {
    let result = 0
    let shift = 0
    let byte: number
    let i = 0
    do {
      if (i++ === 5) throw new BinaryFormatError('s33 too long')
      byte = this.u8()
      result += (byte & 0x7f) * 2 ** shift
      shift += 7
    } while ((byte & 0x80) !== 0)
    if ((byte & 0x40) !== 0) result -= 2 ** shift
    return result
  }

  /** Skips any LEB128 integer (up to 64 bits). */
  skipLeb (): void {
    for (let i = 0; i < 10; i++) {
      if ((this.u8() & 0x80) === 0) return
    }
    throw new BinaryFormatError('LEB128 too long')
  }

  skip (n: number): void {
    if (this.pos + n > this.end) throw new BinaryFormatError('unexpected end of data')
    this.pos += n
  }

  take (n: number): Uint8Array {
    if (this.pos + n > this.end) throw new BinaryFormatError('unexpected end of data')
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  name (): string {
    const len = this.u32()
    try {
      return textDecoder.decode(this.take(len))
    } catch (err) {
      if (err instanceof BinaryFormatError) throw err
      throw new BinaryFormatError('name is not valid UTF-8')
    }
  }

  vec<T> (item: (r: ByteReader) => T): T[] {
    const n = this.u32()
    const out: T[] = []
    for (let i = 0; i < n; i++) out.push(item(this))
    return out
  }
}

/** One section of a module or component: `start..end` is the payload. */
export interface Section {
  id: number
  start: number
  end: number
  /** Offset of the section id byte. */
  headerStart: number
}

export const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]

export function hasWasmMagic (bytes: Uint8Array): boolean {
  return bytes.length >= 8 && WASM_MAGIC.every((b, i) => bytes[i] === b)
}

/** Core modules have version 1 and layer 0. */
export function isCoreModuleBinary (bytes: Uint8Array): boolean {
  return hasWasmMagic(bytes) && bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0
}

/** Components have layer 1 (bytes 6..7 = `01 00`), whatever their pre-standard version. */
export function isComponentBinary (bytes: Uint8Array): boolean {
  return hasWasmMagic(bytes) && bytes[6] === 1 && bytes[7] === 0
}

export function readSections (bytes: Uint8Array): Section[] {
  const r = new ByteReader(bytes, 8)
  const sections: Section[] = []
  while (!r.eof()) {
    const headerStart = r.pos
    const id = r.u8()
    const size = r.u32()
    const start = r.pos
    r.skip(size)
    sections.push({ id, start, end: start + size, headerStart })
  }
  return sections
}

/** The name of a custom section (id 0). */
export function customSectionName (bytes: Uint8Array, section: Section): string {
  return new ByteReader(bytes, section.start, section.end).name()
}

export function encodeU32 (value: number): number[] {
  const out: number[] = []
  let v = value >>> 0
  do {
    let byte = v & 0x7f
    v >>>= 7
    if (v !== 0) byte |= 0x80
    out.push(byte)
  } while (v !== 0)
  return out
}

export function encodeS32 (value: number): number[] {
  const out: number[] = []
  let v = value | 0
  for (;;) {
    const byte = v & 0x7f
    v >>= 7
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

export function encodeName (name: string): number[] {
  const utf8 = new TextEncoder().encode(name)
  return [...encodeU32(utf8.length), ...utf8]
}

export { concatBytes } from '../../util/bytes.js'
