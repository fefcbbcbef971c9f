import { randomBytes } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { IpvmClient, ReceiptNotification, RunResult } from '../../../src/client/index.js'
import type { PartialConfig } from '../../../src/config/index.js'
import { task, type TaskJson } from '../../utils/workflows.js'
import { waitUntil } from '../../utils/wait.js'

/** A node identity made up front, so that others can trust it before it starts. */
export interface Identity {
  seed: string
  peerId: string
}

export async function identity (): Promise<Identity> {
  const bytes = randomBytes(32)
  const key = await generateKeyPairFromSeed('Ed25519', bytes)
  return { seed: bytes.toString('base64'), peerId: peerIdFromPrivateKey(key).toString() }
}

/**
 * Settings of a node in a compute cluster: its key, the peers it dials (which it then trusts
 * and whose tasks it then accepts), the peers it trusts besides, retries quick, and offers
 * asked for often (settings alone: the node is in this process or a child).
 */
export function clusterConfig (id: Identity, opts: { peers?: string[], trusted?: string[], compute?: PartialConfig['compute'], workflow?: PartialConfig['workflow'] } = {}): PartialConfig {
  return {
    node: { key_seed: id.seed },
    network: { peers: opts.peers ?? [], trusted_peers: opts.trusted ?? [], receipt_quorum: 1, dht_timeout_ms: 200 },
    workflow: { retry_initial_delay_ms: 20, retry_max_delay_ms: 200, ...opts.workflow },
    ...(opts.compute !== undefined ? { compute: opts.compute } : {})
  }
}

/** `n` independent add_one tasks on `start`, `start + 1`, … (a fan-out: nothing awaits anything). */
export function fanOut (rsc: string, n: number, start: number, func = 'add_one'): { tasks: TaskJson[] } {
  return { tasks: Array.from({ length: n }, (_v, i) => task(rsc, func, [start + i])) }
}

interface NodeInfoJson {
  static: { peer_id: string }
  dynamic: { compute?: { peers: Record<string, { in_flight: number }>, serving: number } }
}

/** Waits until a node holds a fresh compute offer from each of `peers`. */
export async function waitForOffers (client: IpvmClient, peers: string[], timeoutMs = 20_000): Promise<void> {
  await waitUntil(async () => {
    const info = await client.request<NodeInfoJson>('node')
    const held = Object.keys(info.dynamic.compute?.peers ?? {})
    return peers.every(p => held.includes(p))
  }, timeoutMs, `offers from ${peers.length} peer(s)`, 100)
}

/** The receipts of a run, by the value its task was given (its first argument). */
export function outputs (run: RunResult): number[] {
  return run.receipts.map(r => r.receipt.out[1] as number).sort((a, b) => a - b)
}

/** How many of a run's receipts each executor produced. */
export function executors (receipts: ReceiptNotification[]): Map<string, number> {
  const count = new Map<string, number>()
  for (const r of receipts) {
    const e = r.metadata.executor ?? '(none)'
    count.set(e, (count.get(e) ?? 0) + 1)
  }
  return count
}

/** Network events of a node, collected as they come. */
export async function eventLog (client: IpvmClient): Promise<Array<Record<string, Record<string, unknown>>>> {
  const events: Array<Record<string, Record<string, unknown>>> = []
  const stream = await client.networkEvents()
  void (async () => { for await (const e of stream) events.push(e) })()
  return events
}
