import * as dagPb from '@ipld/dag-pb'
import type { PBNode } from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { exporter } from 'ipfs-unixfs-exporter'
import { importByteStream, importBytes, type ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import type { BlockStore } from './block-store.js'
import { BlockstoreAdapter } from './blockstore-adapter.js'
import { concat } from './buckets.js'
import { isStoreError, StoreError, StoreErrorCode } from './errors.js'

/** `ipfs add` chunk size: fixed 256 KiB chunks. */
export const UNIXFS_CHUNK_SIZE_BYTES = 262_144
/** `ipfs add` balanced layout: at most 174 links per dag-pb node. */
export const UNIXFS_MAX_CHILDREN = 174

export interface ImportFileOptions {
  /** Fixed chunk size. @default 262144 */
  chunkSizeBytes?: number
  /** Maximum links per node of the balanced layout. @default 174 */
  maxChildrenPerNode?: number
  signal?: AbortSignal
}

export interface CatFileOptions {
  /** Byte offset to start reading at. @default 0 */
  offset?: number
  /** Number of bytes to read. @default the rest of the file */
  length?: number
  signal?: AbortSignal
}

/**
 * Imports a file the way `ipfs add --cid-version 1` does (Kubo's defaults with CIDv1):
 * raw leaves, fixed 256 KiB chunks, balanced layout with 174 links per node, sha2-256.
 * A file of one chunk or less is a single raw block (`bafkrei…`); a larger one has a
 * dag-pb root (`bafybei…`). The blocks are written to `blocks` and made durable with one
 * final synchronous write before the CID is returned.
 */
export async function importFile (blocks: BlockStore, content: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ImportFileOptions = {}): Promise<CID> {
  const importerOptions: ImporterOptions = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: options.chunkSizeBytes ?? UNIXFS_CHUNK_SIZE_BYTES }),
    layout: balanced({ maxChildrenPerNode: options.maxChildrenPerNode ?? UNIXFS_MAX_CHILDREN }),
    ...(options.signal !== undefined ? { signal: options.signal } : {})
  }
  const store = new BlockstoreAdapter(blocks)
  const result = content instanceof Uint8Array
    ? await importBytes(content, store, importerOptions)
    : await importByteStream(content, store, importerOptions)
  await blocks.flush()
  return result.cid
}

/**
 * Streams a UnixFS file's bytes. Every block is read through `BlockStore`, so its hash
 * is checked: a corrupt block fails with `STORE_BLOCK_CORRUPT` and a missing one with
 * `STORE_BLOCK_NOT_FOUND` before any of its bytes are yielded. A CID that is not a file
 * fails with `STORE_NOT_A_FILE`; a malformed DAG with `STORE_UNIXFS_INVALID`.
 *
 * The exporter resolves the root; a dag-pb file's tree is then read here, depth first, a few
 * sibling blocks per LevelDB read. (The exporter's own walk leaves an unhandled rejection
 * behind when a block two or more levels down cannot be read, which would end the process.)
 */
export async function * catStream (blocks: BlockStore, cid: CID, options: CatFileOptions = {}): AsyncGenerator<Uint8Array> {
  yield * (await openFile(blocks, cid, options)).parts
}

/** A file's root resolved: how many bytes the range holds, and the bytes. Errors are store errors. */
async function openFile (blocks: BlockStore, cid: CID, options: CatFileOptions): Promise<{ length: bigint, parts: AsyncGenerator<Uint8Array> }> {
  const signal = options.signal
  let entry: Awaited<ReturnType<typeof exporter>>
  let range: { start: bigint, end: bigint }
  try {
    entry = await exporter(cid, new BlockstoreAdapter(blocks), signal !== undefined ? { signal } : {})
    const type = entry.type === 'file' ? entry.unixfs.type : entry.type
    if (entry.type !== 'raw' && entry.type !== 'identity' && (entry.type !== 'file' || (type !== 'file' && type !== 'raw'))) {
      throw new StoreError(StoreErrorCode.NOT_A_FILE, `not a UnixFS file: ${cid.toString()} (${type})`, { cid: cid.toString(), type })
    }
    range = byteRange(entry.size, options)
  } catch (err) {
    throw translate(err, cid)
  }
  const { start, end } = range
  const file = entry
  async function * parts (): AsyncGenerator<Uint8Array> {
    try {
      if (file.type === 'raw' || file.type === 'identity') {
        // a single block: no links to follow
        yield * file.content({ offset: Number(start), length: Number(end - start), ...(signal !== undefined ? { signal } : {}) })
        return
      }
      if (file.type !== 'file') return
      let read = 0n
      for await (const part of fileTree(blocks, file.node, file.unixfs, { position: 0n, start, end, depth: 0, ...(signal !== undefined ? { signal } : {}) })) {
        read += BigInt(part.byteLength)
        if (read > end - start) throw new StoreError(StoreErrorCode.UNIXFS_INVALID, `UnixFS file ${cid.toString()} holds more bytes than its size says`, { cid: cid.toString() })
        if (part.byteLength > 0) yield part
      }
      if (read < end - start) throw new StoreError(StoreErrorCode.UNIXFS_INVALID, `UnixFS file ${cid.toString()} holds fewer bytes than its size says`, { cid: cid.toString() })
    } catch (err) {
      throw translate(err, cid)
    }
  }
  return { length: end - start, parts: parts() }
}

/** Sibling blocks read together (one LevelDB read): at most this many leaves are held at once. */
const READ_AHEAD_BLOCKS = 8
/** Deepest file tree read (a balanced tree of 100 000 blocks is 3 deep). */
const MAX_TREE_DEPTH = 64

interface TreeWalk { position: bigint, start: bigint, end: bigint, depth: number, signal?: AbortSignal }

/** The bytes of `[start, end)` under one dag-pb file node, whose first byte is at `position`. */
async function * fileTree (blocks: BlockStore, node: PBNode, file: UnixFS, walk: TreeWalk): AsyncGenerator<Uint8Array> {
  let position = walk.position
  if (file.data !== undefined && file.data.byteLength > 0) {
    yield slice(file.data, position, walk)
    position += BigInt(file.data.byteLength)
  }
  if (node.Links.length !== file.blockSizes.length) throw new StoreError(StoreErrorCode.UNIXFS_INVALID, 'a UnixFS node\'s links and block sizes disagree')
  const children: Array<{ cid: CID, position: bigint }> = []
  for (let i = 0; i < node.Links.length && position < walk.end; i++) {
    const childEnd = position + file.blockSizes[i]
    if (childEnd > walk.start) children.push({ cid: node.Links[i].Hash, position })
    position = childEnd
  }
  if (children.length > 0 && walk.depth >= MAX_TREE_DEPTH) throw new StoreError(StoreErrorCode.UNIXFS_INVALID, `a UnixFS file tree deeper than ${MAX_TREE_DEPTH}`)
  for (let i = 0; i < children.length; i += READ_AHEAD_BLOCKS) {
    walk.signal?.throwIfAborted()
    const group = children.slice(i, i + READ_AHEAD_BLOCKS)
    const found = await blocks.getMany(group.map(c => c.cid))
    for (let k = 0; k < group.length; k++) {
      const { cid, position: at } = group[k]
      const bytes = found[k]
      if (bytes === undefined) throw new StoreError(StoreErrorCode.BLOCK_NOT_FOUND, `block not found: ${cid.toString()}`, { cid: cid.toString() })
      if (cid.code === raw.code) {
        yield slice(bytes, at, walk)
      } else if (cid.code === dagPb.code) {
        const child = dagPb.decode(bytes)
        if (child.Data === undefined) throw new StoreError(StoreErrorCode.UNIXFS_INVALID, `no UnixFS data in ${cid.toString()}`, { cid: cid.toString() })
        yield * fileTree(blocks, child, UnixFS.unmarshal(child.Data), { ...walk, position: at, depth: walk.depth + 1 })
      } else {
        throw new StoreError(StoreErrorCode.UNIXFS_INVALID, `a UnixFS file links to a block of codec 0x${cid.code.toString(16)}`, { cid: cid.toString() })
      }
    }
  }
}

/** The part of a block's bytes (starting at file offset `at`) inside `[start, end)`. */
function slice (bytes: Uint8Array, at: bigint, walk: TreeWalk): Uint8Array {
  const from = walk.start > at ? Number(walk.start - at) : 0
  const to = walk.end - at < BigInt(bytes.byteLength) ? Number(walk.end - at) : bytes.byteLength
  return from >= to ? new Uint8Array(0) : bytes.subarray(from, to)
}

/** `[start, end)` of a file of `size` bytes from `offset` and `length`, as the exporter checks them. */
function byteRange (size: bigint, options: CatFileOptions): { start: bigint, end: bigint } {
  const start = BigInt(options.offset ?? 0)
  if (start < 0n || start > size) throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, `offset ${start} is outside the file (${size} bytes)`)
  if (options.length !== undefined && options.length < 0) throw new StoreError(StoreErrorCode.INVALID_ARGUMENT, 'length must be 0 or more')
  const end = options.length === undefined ? size : start + BigInt(options.length)
  return { start, end: end > size ? size : end }
}

/** A UnixFS file's bytes, in memory. See `catStream` for the checks. */
export async function catFile (blocks: BlockStore, cid: CID, options: CatFileOptions = {}): Promise<Uint8Array> {
  const file = await openFile(blocks, cid, options)
  if (file.length > BigInt(MAX_PREALLOCATED_BYTES)) {
    const parts: Uint8Array[] = []
    for await (const part of file.parts) parts.push(part)
    return parts.length === 1 ? parts[0] : concat(...parts)
  }
  // the size is known (and the stream never yields more): the bytes are copied once, into place
  const bytes = new Uint8Array(Number(file.length))
  let offset = 0
  for await (const part of file.parts) {
    bytes.set(part, offset)
    offset += part.byteLength
  }
  return bytes
}

/** Files up to this size are read into one array sized up front; larger ones piece by piece (the size a root claims is not trusted that far). */
const MAX_PREALLOCATED_BYTES = 1024 * 1024 * 1024

function translate (err: unknown, cid: CID): unknown {
  if (isStoreError(err)) return err
  const name = (err as { name?: string }).name
  if (name === 'AbortError') return err
  if (name === 'InvalidParametersError') {
    return new StoreError(StoreErrorCode.INVALID_ARGUMENT, (err as Error).message, { cid: cid.toString() }, { cause: err })
  }
  return new StoreError(StoreErrorCode.UNIXFS_INVALID, `cannot read UnixFS file ${cid.toString()}: ${(err as Error).message ?? String(err)}`, { cid: cid.toString() }, { cause: err })
}
