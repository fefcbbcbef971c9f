import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import * as dagCbor from '@ipld/dag-cbor'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { sha3_256 } from '@noble/hashes/sha3.js'
import { CID } from 'multiformats/cid'
import { from } from 'multiformats/hashes/hasher'
import { Network, type Blocks, type DecodedReceipt, type NetworkMetricGroups, type NetworkNotification, type NetworkOptions, type PeerReceiptStore, type ReceiptExchange, type Voucher } from '../../../src/network/index.js'
import type { ReceiptProvenance, ReceiptSource } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { waitUntil } from '../../utils/wait.js'

export const sha3 = from({ name: 'sha3-256', code: 0x16, encode: (b: Uint8Array) => sha3_256(b) })

export async function cidOf (value: unknown): Promise<CID> {
  return CID.createV1(dagCbor.code, await sha3.digest(dagCbor.encode(value)))
}

/** A receipt the way Homestar builds one, with the bytes both network forms take. */
export interface TestReceipt {
  cid: CID
  ran: CID
  instruction: CID
  runtime: Record<string, unknown>
  gossipBytes: Uint8Array
  dhtBytes: Uint8Array
}

export async function makeReceipt (value: number, op = 'add_one'): Promise<TestReceipt> {
  const instruction = await cidOf({ op: 'wasm/run', nnc: '', rsc: 'ipfs://bafy', input: { args: [value], func: op } })
  const ran = await cidOf({ task: { prf: [], run: instruction, meta: {}, cause: null } })
  const hashed = { iss: null, out: ['ok', value + 1], prf: [], ran, meta: { op } }
  const cid = await cidOf(hashed)
  const runtime = { ...hashed, cid, version: '0.2.0', instruction }
  return {
    cid,
    ran,
    instruction,
    runtime,
    gossipBytes: dagCbor.encode({ header: { nonce: new Uint8Array(randomBytes(12)) }, payload: runtime }),
    dhtBytes: dagCbor.encode({ 'ipvm/receipt': { iss: null, out: hashed.out, prf: [], ran, meta: hashed.meta, version: '0.2.0' } })
  }
}

class InvalidReceipt extends Error {
  constructor (readonly code: string, message: string) { super(message) }
}

function asMap (value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || CID.asCID(value) !== null) {
    throw new InvalidReceipt('RECEIPT_MALFORMED', `${what} is not a map`)
  }
  return value as Record<string, unknown>
}

function asCid (value: unknown, what: string): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new InvalidReceipt('RECEIPT_MALFORMED', `${what} is not a link`)
  return cid
}

/** Decodes the 5 hashed fields and recomputes the receipt CID (sha3-256 is synchronous here). */
function hashedReceipt (map: Record<string, unknown>): { cid: CID, ran: CID } {
  if (map.version !== '0.2.0') throw new InvalidReceipt('RECEIPT_VERSION', 'record version mismatch')
  const ran = asCid(map.ran, 'ran')
  if (!Array.isArray(map.out) || !Array.isArray(map.prf)) throw new InvalidReceipt('RECEIPT_MALFORMED', 'out/prf not lists')
  const digest = sha3.digest(dagCbor.encode({ iss: map.iss ?? null, out: map.out, prf: map.prf, ran, meta: map.meta }))
  if (digest instanceof Promise) throw new Error('unexpected async hasher')
  return { cid: CID.createV1(dagCbor.code, digest), ran }
}

function decodeCbor (bytes: Uint8Array): unknown {
  try {
    return dagCbor.decode(bytes)
  } catch (err) {
    throw new InvalidReceipt('RECEIPT_DECODE', (err as Error).message)
  }
}

/** What the network stored: a receipt and who vouched for it. */
export interface StoredPeerReceipt {
  cid: CID
  instruction: CID
  bytes: Uint8Array
  vouchers: Voucher[]
}

/**
 * A ReceiptExchange over DAG-CBOR and sha3-256, and a receipt store (what the trust policy
 * admits lands here, in `received`).
 */
export class TestExchange implements ReceiptExchange, PeerReceiptStore {
  readonly received: StoredPeerReceipt[] = []

  decodeGossip (bytes: Uint8Array): DecodedReceipt {
    const message = asMap(decodeCbor(bytes), 'message')
    const header = asMap(message.header, 'header')
    if (!(header.nonce instanceof Uint8Array)) throw new InvalidReceipt('RECEIPT_MALFORMED', 'nonce is not bytes')
    const payload = asMap(message.payload, 'payload')
    const { cid, ran } = hashedReceipt(payload)
    if (!cid.equals(asCid(payload.cid, 'cid'))) throw new InvalidReceipt('RECEIPT_CID_MISMATCH', 'receipt CID does not match its content')
    return { ...decoded(payload, cid, ran), instruction: asCid(payload.instruction, 'instruction'), record: payload }
  }

  decodeDhtRecord (key: CID, bytes: Uint8Array): DecodedReceipt {
    const capsule = asMap(decodeCbor(bytes), 'record')
    const inner = asMap(capsule['ipvm/receipt'], 'ipvm/receipt')
    const { cid, ran } = hashedReceipt(inner)
    return { ...decoded(inner, cid, ran), instruction: key, record: { ...inner, cid, instruction: key } }
  }

  getByInstruction (instruction: CID): Promise<{ cid: CID, bytes: Uint8Array } | undefined> {
    const found = this.received.find(r => r.instruction.equals(instruction))
    return Promise.resolve(found === undefined ? undefined : { cid: found.cid, bytes: found.bytes })
  }

  put (r: { cid: CID, instruction: CID, bytes: Uint8Array, source: ReceiptSource }): Promise<{ stored: boolean }> {
    if (this.received.some(x => x.cid.equals(r.cid))) return Promise.resolve({ stored: false })
    this.received.push({ cid: r.cid, instruction: r.instruction, bytes: r.bytes, vouchers: r.source.kind === 'peer' ? r.source.vouchers : [] })
    return Promise.resolve({ stored: true })
  }

  async putMany (rs: Array<{ cid: CID, instruction: CID, bytes: Uint8Array, source: ReceiptSource }>): Promise<Array<{ stored: boolean }>> {
    const out: Array<{ stored: boolean }> = []
    for (const r of rs) out.push(await this.put(r))
    return out
  }

  async getManyByInstruction (instructions: CID[]): Promise<Array<{ cid: CID, bytes: Uint8Array } | undefined>> {
    return await Promise.all(instructions.map(async i => await this.getByInstruction(i)))
  }

  async getMany (cids: CID[]): Promise<Array<Uint8Array | undefined>> {
    return await Promise.all(cids.map(async c => await this.get(c)))
  }

  get (cid: CID): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.received.find(r => r.cid.equals(cid))?.bytes)
  }

  provenanceOf (cids: CID[]): Promise<Array<ReceiptProvenance | undefined>> {
    return Promise.resolve(cids.map(cid => {
      const found = this.received.find(r => r.cid.equals(cid))
      return found === undefined ? undefined : { local: false, vouchers: found.vouchers }
    }))
  }

  async waitFor (predicate: (r: StoredPeerReceipt) => boolean, timeoutMs = 5000): Promise<StoredPeerReceipt> {
    return await waitUntil(() => this.received.find(predicate), timeoutMs, 'peer receipt')
  }
}

/** The fields the network reads of a decoded receipt. */
function decoded (map: Record<string, unknown>, cid: CID, ran: CID): Omit<DecodedReceipt, 'instruction' | 'record'> {
  const hashed = { iss: map.iss ?? null, out: map.out, prf: map.prf, ran, meta: map.meta }
  return { cid, ran, bytes: dagCbor.encode(hashed), ok: (map.out as unknown[])[0] === 'ok', out: dagCbor.encode(map.out), issuer: (map.iss as string | null | undefined) ?? null }
}

function gauge (): NetworkMetricGroups['network']['dhtRecords'] {
  return { set: () => {}, inc: () => {}, dec: () => {}, setCollector: () => {} }
}

/** The network's metric groups, with the values tests read kept in plain fields. */
export class TestMetrics implements NetworkMetricGroups {
  peerCount = 0
  published = 0
  received = 0
  fromPeers = 0
  readonly invalid = new Map<string, number>()
  readonly dht = new Map<string, number>()
  readonly dropped = new Map<string, number>()
  conflicts = 0
  readonly network: NetworkMetricGroups['network'] = {
    peers: { set: (v: number) => { this.peerCount = v }, inc: () => {}, dec: () => {}, setCollector: () => {} },
    gossipMessages: { inc: (labels) => { if (labels.direction === 'out') this.published++; else this.received++ } },
    dhtOps: { inc: (labels) => { const k = `${labels.op}:${labels.outcome}`; this.dht.set(k, (this.dht.get(k) ?? 0) + 1) } },
    peerInputDropped: { inc: (labels) => { this.dropped.set(labels.kind, (this.dropped.get(labels.kind) ?? 0) + 1) } },
    dhtRecords: gauge(),
    dhtRecordBytes: gauge()
  }

  readonly receipts: NetworkMetricGroups['receipts'] = {
    stored: { inc: () => {} },
    fromPeers: { inc: () => { this.fromPeers++ } },
    invalidFromPeers: { inc: (labels) => { this.invalid.set(labels.reason, (this.invalid.get(labels.reason) ?? 0) + 1) } },
    conflicts: { inc: () => { this.conflicts++ } },
    candidates: gauge()
  }

  invalidTotal (): number { return [...this.invalid.values()].reduce((a, b) => a + b, 0) }
}

/** In-memory blocks keyed by CID string. */
export class MemoryBlocks implements Blocks {
  readonly map = new Map<string, Uint8Array>()
  get (cid: CID): Promise<Uint8Array | undefined> { return Promise.resolve(this.map.get(cid.toString())) }
  has (cid: CID): Promise<boolean> { return Promise.resolve(this.map.has(cid.toString())) }
  put (cid: CID, bytes: Uint8Array): Promise<CID> { this.map.set(cid.toString(), bytes); return Promise.resolve(cid) }
}

export interface TestNode {
  network: Network
  exchange: TestExchange
  metrics: TestMetrics
  blocks: MemoryBlocks
  events: NetworkNotification[]
}

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** Networks started by `startNode`, stopped by `stopAll` (call it in afterEach). */
const running: Network[] = []

export async function startNode (options: Partial<NetworkOptions> = {}, privateKey?: PrivateKey): Promise<TestNode> {
  const exchange = new TestExchange()
  const metrics = new TestMetrics()
  const blocks = new MemoryBlocks()
  // these tests are about moving receipts: every peer is trusted (the trust policy has its own tests)
  const network = new Network({ listen: LOOPBACK, mdns: false, trust: 'any', ...options }, {
    privateKey: privateKey ?? await generateKeyPair('Ed25519'),
    logger: silentLogger(),
    receipts: exchange,
    receiptStore: exchange,
    blocks,
    metrics
  })
  const events: NetworkNotification[] = []
  network.subscribe((n) => { events.push(n) })
  running.push(network)
  await network.start()
  return { network, exchange, metrics, blocks, events }
}

export async function stopAll (): Promise<void> {
  await Promise.all(running.splice(0).map(async (n) => { await n.stop() }))
}

export { waitUntil }

export function eventsOf<K extends string> (node: TestNode, type: K): Array<Record<string, unknown>> {
  return node.events.filter((e) => type in e).map((e) => (e as Record<string, Record<string, unknown>>)[type])
}

/** Waits until every node sees at least `count` gossip subscribers. */
export async function waitForGossipPeers (nodes: TestNode[], count = 1): Promise<void> {
  await waitUntil(() => nodes.every((n) => n.network.gossipPeers().length >= count), 10_000, 'gossip subscribers')
}

/** Waits until each node's gossip mesh has `count` peers (a message is forwarded to them at once, not on a later heartbeat). */
export async function waitForGossipMesh (nodes: TestNode[], count = 1): Promise<void> {
  await waitUntil(() => nodes.every((n) => n.network.gossipMeshPeers().length >= count), 10_000, 'gossip mesh')
}

const schemaPath = new URL('../../../schemas/network.json', import.meta.url)
let validator: ValidateFunction | undefined

/** Validates notifications against schemas/network.json; returns the failures (empty when all pass). */
export function schemaErrors (notifications: NetworkNotification[]): Array<{ notification: NetworkNotification, errors: unknown }> {
  if (validator === undefined) {
    const ajv = new Ajv({ strict: false, allErrors: true })
    validator = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object)
  }
  const failures: Array<{ notification: NetworkNotification, errors: unknown }> = []
  for (const notification of notifications) {
    // Validate the JSON form, as subscribers receive it.
    if (validator(JSON.parse(JSON.stringify(notification))) !== true) failures.push({ notification, errors: validator.errors })
  }
  return failures
}

/** Field order as required by the spec: lexicographic. */
export function fieldsSorted (notification: NetworkNotification): boolean {
  const fields = Object.keys(Object.values(notification)[0] as object)
  return fields.join(',') === [...fields].sort().join(',')
}
