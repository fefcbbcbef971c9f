import { generateKeyPair } from '@libp2p/crypto/keys'
import type { CID } from 'multiformats/cid'
import { Network, homestarReceiptExchange, type Blocks, type NetworkOptions } from '../../src/network/index.js'
import { ResourceResolver } from '../../src/resources/index.js'
import { Store, importFile } from '../../src/store/index.js'
import { silentLogger } from '../../src/util/logger.js'
import { tempDir } from './node.js'

/**
 * Peers holding files and nodes fetching them, built from the store, network and resolver
 * alone (no JSON-RPC, no workflows). Everything started here is stopped by `closeBlockPeers()`.
 */

const cleanups: Array<() => Promise<void>> = []

/** Stops the networks and stores started here, newest first, and removes their folders. */
export async function closeBlockPeers (): Promise<void> {
  for (const close of cleanups.splice(0).reverse()) await close()
}

/** A file imported (`chunk`-byte leaves) into a store of its own. */
export async function fileStore (data: Uint8Array, chunk: number): Promise<{ store: Store, root: CID, data: Uint8Array, blocks: number }> {
  const dir = tempDir('ipvm-blocks-')
  const store = new Store({ dataDir: dir.dir }, { logger: silentLogger() })
  await store.start()
  cleanups.push(async () => { await store.stop(); dir.remove() })
  const root = await importFile(store.blocks, data, { chunkSizeBytes: chunk })
  let blocks = 0
  for await (const _ of store.blocks.entries()) blocks++
  return { store, root, data, blocks }
}

/** Blocks that count what they give out (bitswap serves a block through `get`, checks a HAVE with `has`). */
export class CountingBlocks implements Blocks {
  /** Block CID → times it was read. */
  readonly served = new Map<string, number>()
  constructor (private readonly inner: Blocks, private readonly onGet: (distinct: number) => void = () => {}) {}

  async get (cid: CID): Promise<Uint8Array | undefined> {
    const bytes = await this.inner.get(cid)
    if (bytes !== undefined) {
      this.served.set(cid.toString(), (this.served.get(cid.toString()) ?? 0) + 1)
      this.onGet(this.served.size)
    }
    return bytes
  }

  async has (cid: CID): Promise<boolean> { return await this.inner.has(cid) }
  async put (cid: CID, bytes: Uint8Array): Promise<unknown> { return await this.inner.put(cid, bytes) }
}

async function startNetwork (options: Partial<NetworkOptions>, blocks: Blocks, store: Store): Promise<Network> {
  const network = new Network({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, ...options }, {
    privateKey: await generateKeyPair('Ed25519'),
    logger: silentLogger(),
    receipts: homestarReceiptExchange(),
    receiptStore: store.receipts,
    blocks
  })
  await network.start()
  cleanups.push(async () => { await network.stop() })
  return network
}

export interface Holder {
  network: Network
  root: CID
  /** Block CID → times the holder read it to send it. */
  served: Map<string, number>
  /** Blocks of the file. */
  blockCount: number
}

/** A peer holding a file; with `stopAfterServing` its network stops once it has read that many distinct blocks to send. */
export async function startHolder (data: Uint8Array, chunk: number, opts: { stopAfterServing?: number } = {}): Promise<Holder> {
  const file = await fileStore(data, chunk)
  const started: { network?: Network } = {}
  const blocks = new CountingBlocks(file.store.blocks, (distinct) => {
    if (distinct === opts.stopAfterServing) void started.network?.stop()
  })
  started.network = await startNetwork({}, blocks, file.store)
  return { network: started.network, root: file.root, served: blocks.served, blockCount: file.blocks }
}

/** A node that fetches files with the resource resolver, as `ipvm start` wires it, into an empty store. */
export async function startFetcher (options: Partial<NetworkOptions>): Promise<{ network: Network, resolver: ResourceResolver, store: Store }> {
  const { store } = await fileStore(new Uint8Array(0), 1024)
  const network = await startNetwork(options, store.blocks, store)
  return { network, store, resolver: new ResourceResolver({}, { store, logger: silentLogger(), sources: [network.blockSource()] }) }
}
