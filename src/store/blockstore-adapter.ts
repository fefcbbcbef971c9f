import type { Blockstore, InputPair, Pair } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import type { BlockInput, BlockStore } from './block-store.js'

interface AbortOptions { signal?: AbortSignal }

/**
 * `BlockStore` in the `interface-blockstore` 7 shape (what `ipfs-unixfs-importer` 17 and
 * `ipfs-unixfs-exporter` 16 call): `put` returns the CID, `get` returns an async generator
 * of the block's bytes and throws `STORE_BLOCK_NOT_FOUND` for a missing block. Every
 * read is verified against its CID (`STORE_BLOCK_CORRUPT`).
 */
export class BlockstoreAdapter implements Blockstore {
  constructor (private readonly blocks: BlockStore) {}

  async has (cid: CID, options?: AbortOptions): Promise<boolean> {
    options?.signal?.throwIfAborted()
    return await this.blocks.has(cid)
  }

  async put (cid: CID, bytes: BlockInput, options?: AbortOptions): Promise<CID> {
    options?.signal?.throwIfAborted()
    return await this.blocks.put(cid, bytes)
  }

  async * putMany (source: Iterable<InputPair> | AsyncIterable<InputPair>, options?: AbortOptions): AsyncGenerator<CID> {
    for await (const { cid, bytes } of source) {
      options?.signal?.throwIfAborted()
      yield await this.blocks.put(cid, bytes)
    }
  }

  async * get (cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    options?.signal?.throwIfAborted()
    yield await this.blocks.require(cid)
  }

  async * getMany (source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) {
      options?.signal?.throwIfAborted()
      const bytes = await this.blocks.require(cid)
      yield { cid, bytes: once(bytes) }
    }
  }

  async * getAll (options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const { cid, bytes } of this.blocks.entries()) {
      options?.signal?.throwIfAborted()
      yield { cid, bytes: once(bytes) }
    }
  }

  async delete (cid: CID, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    await this.blocks.delete(cid)
  }

  async * deleteMany (source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<CID> {
    for await (const cid of source) {
      options?.signal?.throwIfAborted()
      await this.blocks.delete(cid)
      yield cid
    }
  }
}

function * once (bytes: Uint8Array): Generator<Uint8Array> {
  yield bytes
}
