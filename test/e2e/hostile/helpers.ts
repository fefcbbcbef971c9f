import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { IpvmClient, collectRun } from '../../../src/client/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { buildTestComponent } from '../../utils/wasm.js'
import { RawSocket } from '../../utils/ws.js'
import { addResource, task } from '../../utils/workflows.js'

/** What a hostile client sends from: another loopback address, so the node sees another client. */
export const HOSTILE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']

/** An rsc that names nothing the node has (tasks that reach it fail without running Wasm). */
export const MISSING_RSC = 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka'

/** A task as short as the schema allows (about 100 bytes): the most tasks per byte a client can send. */
export function tinyTask (i: number): object {
  return { run: { rsc: 'ipfs://x', op: 'wasm/run', input: { func: 'f', args: [i] }, nnc: '' }, meta: {}, prf: [] }
}

/** Subscription options of the tests that read notifications: DAG-JSON results (not Homestar's byte arrays) and the run's status notifications. */
export const JSON_WITH_STATUS = { format: 'json', status: true }

export function runRequest (id: number | string, params: unknown): object {
  return { jsonrpc: '2.0', id, method: 'subscribe_run_workflow', params }
}

/** Things that happened, in the order they happened. */
export class EventLog {
  readonly events: string[] = []
  push (event: string): void {
    this.events.push(event)
  }

  /** Where `event` first happened; fails when it never did. */
  at (event: string): number {
    const i = this.events.indexOf(event)
    expect(i, `${event} in ${this.events.join(', ')}`).toBeGreaterThanOrEqual(0)
    return i
  }
}

/**
 * The well-behaved clients of the hostile tests, on 127.0.0.1: a probe that asks `health`
 * and a client that runs a 1-task workflow (add_one of a fresh start, so it executes).
 */
export class Bystanders {
  private constructor (readonly probe: IpvmClient, readonly normal: IpvmClient, private readonly rsc: string) {}

  /** Connects both, and runs a workflow once so that the component is compiled before anything is measured. */
  static async connect (url: string, rsc: string): Promise<Bystanders> {
    const b = new Bystanders(await IpvmClient.connect(url, { requestTimeoutMs: 60_000 }), await IpvmClient.connect(url, { requestTimeoutMs: 60_000 }), rsc)
    const warm = await collectRun(await b.normal.runWorkflow({ tasks: [task(rsc, 'add_one', [-1])] }), 60_000)
    expect(warm.status.status).toBe('completed')
    return b
  }

  /** Asks health and runs a 1-task workflow; both must succeed. Logs `probe` and `normal` as each is answered. */
  async serve (log: EventLog, start: number): Promise<void> {
    await Promise.all([
      this.probe.health().then(h => {
        expect(h).toEqual({ healthy: true })
        log.push('probe')
      }),
      this.normal.runWorkflow({ tasks: [task(this.rsc, 'add_one', [start])] }).then(async stream => await collectRun(stream, 60_000)).then(r => {
        expect(r.status.status).toBe('completed')
        expect(r.receipts.map(x => x.receipt.out)).toEqual([['ok', start + 1]])
        log.push('normal')
      })
    ])
  }

  async close (): Promise<void> {
    await this.probe.close()
    await this.normal.close()
  }
}

/** The node of a suite of hostile tests, set when its `beforeAll` has run. */
export interface HostileNode {
  t: TestNode
  /** The test component, added to the node. */
  rsc: string
  bystanders: Bystanders
  /** Raw sockets a test opened: closed after it. */
  sockets: RawSocket[]
}

/**
 * Registers the hooks of a suite of hostile tests: a node with these `rpc` settings (network
 * off, no retries), the test component added, the bystanders connected; sockets closed after
 * each test, everything after the suite.
 */
export function hostileNode (rpc: Record<string, unknown>): HostileNode {
  const h = { sockets: [] as RawSocket[] } as HostileNode
  beforeAll(async () => {
    h.t = await startTestNode({ config: { network: { enable: false }, workflow: { retries: 0 }, rpc } })
    h.rsc = await addResource(h.t.httpUrl, await buildTestComponent())
    h.bystanders = await Bystanders.connect(h.t.url, h.rsc)
  }, 120_000)
  afterEach(() => { for (const s of h.sockets.splice(0)) s.close() })
  afterAll(async () => {
    await h.bystanders?.close()
    await h.t?.close()
  })
  return h
}

/** A raw WebSocket from a hostile address that takes large answers. */
export async function hostileSocket (url: string, address = HOSTILE_ADDRESSES[0]): Promise<RawSocket> {
  return await RawSocket.open(url, { localAddress: address, maxPayload: 256 * 1024 * 1024 })
}

/** Waits (bounded) until `check` holds, polling on timers, so the event loop must be free to get there. */
export async function until (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}
