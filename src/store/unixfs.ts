import { exporter } from 'ipfs-unixfs-exporter'
import { importByteStream, importBytes, type ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import type { CID } from 'multiformats/cid'
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
 */
export async function * catStream (blocks: BlockStore, cid: CID, options: CatFileOptions = {}): AsyncGenerator<Uint8Array> {
  const store = new BlockstoreAdapter(blocks)
  try {
    const entry = await exporter(cid, store, options.signal !== undefined ? { signal: options.signal } : {})
    if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') {
      throw new StoreError(StoreErrorCode.NOT_A_FILE, `not a UnixFS file: ${cid.toString()} (${entry.type})`, { cid: cid.toString(), type: entry.type })
    }
    const contentOptions = {
      ...(options.offset !== undefined ? { offset: options.offset } : {}),
      ...(options.length !== undefined ? { length: options.length } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {})
    }
    yield * entry.content(contentOptions)
  } catch (err) {
    throw translate(err, cid)
  }
}

/** A UnixFS file's bytes, in memory. See `catStream` for the checks. */
export async function catFile (blocks: BlockStore, cid: CID, options: CatFileOptions = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of catStream(blocks, cid, options)) parts.push(part)
  return parts.length === 1 ? parts[0] : concat(...parts)
}

function translate (err: unknown, cid: CID): unknown {
  if (isStoreError(err)) return err
  const name = (err as { name?: string }).name
  if (name === 'AbortError') return err
  if (name === 'InvalidParametersError') {
    return new StoreError(StoreErrorCode.INVALID_ARGUMENT, (err as Error).message, { cid: cid.toString() }, { cause: err })
  }
  return new StoreError(StoreErrorCode.UNIXFS_INVALID, `cannot read UnixFS file ${cid.toString()}: ${(err as Error).message ?? String(err)}`, { cid: cid.toString() }, { cause: err })
}
