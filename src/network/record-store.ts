import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { Record } from '@libp2p/kad-dht'
import { base32 } from 'multiformats/bases/base32'
import type { NetworkMetricGroups } from './types.js'

/** Where kad-dht keeps the records other peers put on this node. */
const RECORD_PREFIX = '/dht/record/'

export interface BoundedRecordStoreOptions {
  /** Records kept at once. */
  maxRecords: number
  /** Bytes of records kept at once. */
  maxBytes: number
}

/** The value of a record this node can make up when asked for a key it does not hold (a receipt it has), or undefined. */
export type RecordSource = (key: Uint8Array) => Promise<Uint8Array | undefined>

/**
 * libp2p's datastore, in memory, with a budget for the DHT records peers store on this node
 * (the rest, peer and provider data, is libp2p's own and small). Past the budget the oldest
 * records are dropped, as a full Kademlia store would; a peer flooding records costs this
 * node at most the budget. A record it does not hold is asked of `source` (the receipts in
 * the node's store), so what the node keeps on disk answers the DHT, after a restart too,
 * without taking memory.
 */
export class BoundedRecordStore extends MemoryDatastore {
  /** Record sizes by key, oldest first. */
  private readonly records = new Map<string, number>()
  private bytes = 0

  constructor (private readonly options: BoundedRecordStoreOptions, private readonly metrics?: NetworkMetricGroups, private readonly source?: RecordSource) {
    super()
    metrics?.network.dhtRecords.setCollector(() => this.records.size)
    metrics?.network.dhtRecordBytes.setCollector(() => this.bytes)
  }

  get recordCount (): number { return this.records.size }
  get recordBytes (): number { return this.bytes }

  override put (key: Key, value: Uint8Array): Key {
    const name = key.toString()
    // MemoryDatastore's writes are synchronous: their results are the key, or nothing
    if (!name.startsWith(RECORD_PREFIX)) return super.put(key, value) as Key
    this.forget(name)
    if (value.byteLength > this.options.maxBytes) {
      this.metrics?.network.peerInputDropped.inc({ kind: 'dht_record_too_large' })
      return key
    }
    void super.put(key, value)
    this.records.set(name, value.byteLength)
    this.bytes += value.byteLength
    for (const [oldest] of this.records) {
      if (this.records.size <= this.options.maxRecords && this.bytes <= this.options.maxBytes) break
      this.forget(oldest)
      void super.delete(new Key(oldest))
      this.metrics?.network.peerInputDropped.inc({ kind: 'dht_record_evicted' })
    }
    return key
  }

  /** The value of a record a peer put on this node, by its DHT key (not asking the source). */
  async localRecord (recordKey: Uint8Array): Promise<Uint8Array | undefined> {
    const name = `${RECORD_PREFIX}${base32.baseEncode(recordKey)}`
    // most keys asked for are not here: no read (a miss is a thrown error, stack and all)
    if (!this.records.has(name)) return undefined
    try {
      return Record.deserialize(await super.get(new Key(name))).value
    } catch {
      return undefined
    }
  }

  override async get (key: Key): Promise<Uint8Array> {
    try {
      return await super.get(key)
    } catch (err) {
      const name = key.toString()
      if (this.source === undefined || (err as Error).name !== 'NotFoundError' || !name.startsWith(RECORD_PREFIX)) throw err
      let recordKey: Uint8Array
      try {
        recordKey = base32.baseDecode(name.slice(RECORD_PREFIX.length))
      } catch {
        throw err
      }
      const value = await this.source(recordKey)
      if (value === undefined) throw err
      return new Record(recordKey, value, new Date()).serialize()
    }
  }

  override delete (key: Key): void {
    this.forget(key.toString())
    void super.delete(key)
  }

  private forget (name: string): void {
    const size = this.records.get(name)
    if (size === undefined) return
    this.records.delete(name)
    this.bytes -= size
  }
}
