import * as dagCbor from '@ipld/dag-cbor'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { createCipheriv, createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { Store } from '../../src/store/index.js'
import { silentLogger } from '../../src/util/logger.js'

export const DAG_CBOR = 0x71
export const RAW = 0x55
export const DAG_PB = 0x70

export async function tempDir (): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ipvm-store-test-'))
  return { dir, cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
}

/** A started store in a fresh temp dir, and a function that stops it and removes the dir. */
export async function createTestStore (now?: () => number): Promise<{ store: Store, dir: string, close: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir()
  const store = new Store({ dataDir: dir }, { logger: silentLogger(), ...(now !== undefined ? { now } : {}) })
  await store.start()
  return { store, dir, close: async () => { await store.stop(); await cleanup() } }
}

/** Opens the store's LevelDB directly (the store must be stopped), for inspection and tampering. */
export async function withRawLevel<T> (store: Store, fn: (db: Level<Uint8Array, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<Uint8Array, Uint8Array>(store.location, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

export function sha3Cid (codec: number, bytes: Uint8Array): CID {
  return CID.createV1(codec, Digest.create(0x16, sha3_256(bytes)))
}

export async function sha256Cid (codec: number, bytes: Uint8Array): Promise<CID> {
  return CID.createV1(codec, await sha256.digest(bytes))
}

export function dagCborCid (value: unknown): { cid: CID, bytes: Uint8Array } {
  const bytes = dagCbor.encode(value)
  return { cid: sha3Cid(DAG_CBOR, bytes), bytes }
}

export interface TestReceipt { cid: CID, instruction: CID, bytes: Uint8Array }

/**
 * A receipt shaped like Homestar's (`{ran, out, meta, iss, prf}`) for instruction `n` of
 * `tag`, with CIDs computed the Homestar way (DAG-CBOR, sha3-256).
 */
export function makeReceipt (tag: string, n: number, outcome: 'ok' | 'error' = 'ok', variant = 0): TestReceipt {
  const instruction = dagCborCid({ rsc: 'ipfs://test', op: 'wasm/run', nnc: '', input: { func: 'add_one', args: [n], tag } }).cid
  const ran = dagCborCid({ task: { run: instruction, tag } }).cid
  const out = outcome === 'ok' ? ['ok', n + 1] : ['error', { code: 'RUNTIME_TRAP', message: `trap ${n}`, attempts: 1 + variant }]
  const { cid, bytes } = dagCborCid({ ran, out, meta: { op: 'add_one', variant }, iss: null, prf: [] })
  return { cid, instruction, bytes }
}

/**
 * Deterministic pseudo-random bytes as Kubo's tests generate them
 * (ChaCha20 keystream, key = sha256(seed), zero nonce and counter).
 */
export function deterministicBytes (size: number, seed: string): Uint8Array {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16))
  return new Uint8Array(cipher.update(Buffer.alloc(size)))
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
}

/** The code of a rejected promise (or of a throwing async iterable's consumer). */
export async function codeOf (p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

/** The items one at a time, as an async stream hands them over (a socket, an upload). */
export function asStream<T> (items: Iterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => {
      const it = items[Symbol.iterator]()
      return { next: () => Promise.resolve(it.next()) }
    }
  }
}

export async function all<T> (source: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of source) out.push(x)
  return out
}
