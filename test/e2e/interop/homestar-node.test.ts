import { afterAll, beforeAll, describe, expect, it, onTestFailed, type TestContext } from 'vitest'
import { collectRun, type SubscriptionStream } from '../../../src/client/index.js'
import { importFile, type Store } from '../../../src/store/index.js'
import { memoryStore } from '../../utils/memory-store.js'
import { metricValue } from '../../utils/metrics.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { waitUntil } from '../../utils/wait.js'
import { buildHomestar030Component } from '../../utils/wasm.js'
import { addResource, chain } from '../../utils/workflows.js'
import { FakeKubo, HOMESTAR_VERSION, homestarBinary, homestarKey, HomestarProcess, type HomestarKey, type HomestarNotification } from './homestar-process.js'

/**
 * The real Homestar 0.3.0 (npm `homestar-linux-x64`, a child process) beside this node on
 * loopback: receipts go both ways by gossip and through the DHT. Both nodes fetch the same
 * Wasm, `ipfs://<cid>`: this node from its store (`POST /add`), Homestar from a stand-in Kubo
 * API serving the same UnixFS file. Skipped, saying why, where the binary cannot run.
 */

const binary = homestarBinary()
const SUITE = `Homestar ${HOMESTAR_VERSION} beside this node`
const WAIT_MS = 20_000
/** How long a Homestar replay may stay silent before the workflow is submitted again (see `replayOnHomestar`). */
const REPLAY_RETRY_MS = 3000
/** The DHT lookup bound of the nodes that find Homestar's receipts there (500 ms by default): room for a loaded machine. */
const DHT_TIMEOUT_MS = 3000

/** Network notifications a node sent since the subscription started. */
class EventLog {
  readonly events: Array<Record<string, any>> = []
  private constructor (stream: SubscriptionStream<Record<string, any>>) {
    void (async () => { for await (const e of stream) this.events.push(e) })()
  }

  static async open (t: TestNode): Promise<EventLog> {
    return new EventLog(await t.client.networkEvents())
  }

  of (type: string): Array<Record<string, any>> {
    return this.events.filter(e => type in e).map(e => e[type])
  }
}

/** Homestar's network events, decoded from its byte-array notifications. */
class HomestarEvents {
  readonly events: HomestarNotification[] = []
  static async open (hs: HomestarProcess): Promise<HomestarEvents> {
    const log = new HomestarEvents()
    await (await hs.rpc()).subscribe('subscribe_network_events', [], e => log.events.push(e))
    return log
  }

  of (type: string): Array<Record<string, any>> {
    return this.events.filter(e => type in e).map(e => e[type])
  }
}

/** Peers a node knows to subscribe to `receipts` (read from its network, which the node keeps to itself). */
function gossipPeers (t: TestNode): string[] {
  return (t.node as unknown as { network?: { gossipPeers: () => string[] } }).network?.gossipPeers() ?? []
}

const cidOf = (n: Record<string, any>): string => n.receipt_cid['/']

/** `receipt_get`'s account of who stands behind a receipt. */
interface Provenance { computed_here: boolean, vouched_by: Array<{ peer: string, via: string }> }

/** Runs a workflow on Homestar and resolves with its first `count` receipt notifications. */
async function runOnHomestar (hs: HomestarProcess, workflow: object, name: string, count: number): Promise<HomestarNotification[]> {
  const got: HomestarNotification[] = []
  await (await hs.rpc()).subscribe('subscribe_run_workflow', [{ name, workflow }], n => got.push(n))
  await waitUntil(() => got.length >= count, WAIT_MS, `${count} receipts of "${name}" from Homestar (got ${got.length})`)
  return got.slice(0, count)
}

/**
 * Submits a workflow Homestar should replay and resolves with one notification per receipt.
 * Homestar 0.3.0 sends a replay's receipts while it is still registering the subscription, and
 * drops a share of them (20–40 % of replays lose some); but every open subscription with the
 * same workflow and name gets a replay's receipts. So when the notifications stay short for
 * `REPLAY_RETRY_MS`, the same workflow is submitted again under the same name (at most 5 times),
 * and the earlier subscriptions hear the new replay.
 */
async function replayOnHomestar (hs: HomestarProcess, workflow: object, name: string, count: number): Promise<{ receipts: HomestarNotification[], submissions: number }> {
  const byCid = new Map<string, HomestarNotification>()
  const all: HomestarNotification[] = []
  let submissions = 0
  while (byCid.size < count) {
    if (submissions === 5) throw new Error(`Homestar replayed ${byCid.size} of ${count} receipts of "${name}" in ${submissions} submissions`)
    submissions++
    await (await hs.rpc()).subscribe('subscribe_run_workflow', [{ name, workflow }], n => {
      all.push(n)
      if (!byCid.has(cidOf(n))) byCid.set(cidOf(n), n)
    })
    await waitUntil(() => byCid.size >= count, REPLAY_RETRY_MS, 'a replay').catch(() => {})
  }
  // every notification any submission got is a replay
  expect(all.every(n => n.metadata.replayed === true && n.metadata.name === name)).toBe(true)
  return { receipts: [...byCid.values()], submissions }
}

/**
 * The Homestar process of the running test, its last log lines printed if the test fails;
 * skips the test, saying why, when Homestar did not start in beforeAll.
 */
function homestarFor (ctx: TestContext, hs: HomestarProcess | undefined, unavailable: string | undefined): HomestarProcess {
  if (unavailable !== undefined) ctx.skip(`Homestar could not start here: ${unavailable}`)
  if (hs === undefined) throw new Error('Homestar started, but its process is not known')
  onTestFailed(() => { console.log(`Homestar's last log lines:\n${hs.logTail()}`) })
  return hs
}

describe.skipIf(!('path' in binary))('path' in binary ? SUITE : `${SUITE} (skipped: ${binary.reason})`, () => {
  const hsBinary = 'path' in binary ? binary.path : ''
  /** What the stand-in Kubo serves. */
  let store: Store
  let kubo: FakeKubo
  let wasm: Uint8Array
  let rsc: string

  beforeAll(async () => {
    store = await memoryStore()
    wasm = await buildHomestar030Component()
    rsc = `ipfs://${(await importFile(store.blocks, wasm)).toString()}`
    kubo = await FakeKubo.start(store.blocks)
  }, 60_000)

  afterAll(async () => {
    await kubo?.close()
    await store?.stop()
  })

  /** Starts Homestar, or says why it cannot run (logged once, then every test is skipped with it). */
  async function startHomestar (options: { key: HomestarKey, nodeAddresses: string[], pubsub: boolean }): Promise<HomestarProcess | string> {
    try {
      return await HomestarProcess.start({ binary: hsBinary, kuboPort: kubo.port, ...options })
    } catch (err) {
      const reason = (err as Error).message
      console.warn(`${SUITE}: skipped, Homestar did not start: ${reason}`)
      return reason
    }
  }

  /** A node of ours with the test component in its store, under the same `ipfs://` CID Homestar fetches. */
  async function ourNode (network: Record<string, unknown>): Promise<{ t: TestNode, log: EventLog }> {
    const t = await startTestNode({ config: { network } })
    expect(await addResource(t.httpUrl, wasm)).toBe(rsc)
    return { t, log: await EventLog.open(t) }
  }

  describe('gossip (topic "receipts")', () => {
    let key: HomestarKey
    let hs: HomestarProcess | undefined
    let hsLog: HomestarEvents
    let unavailable: string | undefined
    /** Trusts Homestar by its peer id. */
    let trusting: { t: TestNode, log: EventLog }
    /** Trusts any peer, as Homestar does. */
    let anyPeer: { t: TestNode, log: EventLog }
    /** The default policy, Homestar not named: the control. */
    let untrusting: { t: TestNode, log: EventLog }
    /** Our three nodes' peer ids. */
    const ourPeers = (): string[] => [trusting, anyPeer, untrusting].map(n => n.t.node.peerId)

    beforeAll(async () => {
      key = await homestarKey()
      trusting = await ourNode({ trusted_peers: [key.peerId] })
      anyPeer = await ourNode({ trust: 'any' })
      untrusting = await ourNode({})
      // Homestar dials our nodes (so none of them trusts it for being a configured peer)
      const started = await startHomestar({ key, pubsub: true, nodeAddresses: [trusting, anyPeer, untrusting].map(n => n.t.node.multiaddrs[0]) })
      if (typeof started === 'string') {
        unavailable = started
        return
      }
      hs = started
      hsLog = await HomestarEvents.open(hs)
      for (const { t } of [trusting, anyPeer, untrusting]) await waitUntil(() => gossipPeers(t).includes(key.peerId), WAIT_MS, 'Homestar\'s subscription to receipts')
      // Homestar sends to the peers it knows to subscribe: wait until its gossip reaches all
      // three, with a one-task workflow it runs, then replays (a replay gossips its receipts again)
      const warmUp = chain(rsc, 1, 0)
      const [cid] = (await runOnHomestar(hs, warmUp, 'warm-up', 1)).map(cidOf)
      const reached = async (): Promise<boolean> => [trusting, anyPeer].every(({ log }) => log.of('received_receipt_pubsub').some(e => e.cid === cid)) &&
        await metricValue(untrusting.t, 'ipvm_receipt_candidates') >= 1
      for (let submissions = 1; !await waitUntil(reached, REPLAY_RETRY_MS, 'Homestar\'s gossip').catch(() => false); submissions++) {
        if (submissions === 5) throw new Error('Homestar\'s gossip did not reach this node\'s three nodes')
        await (await hs.rpc()).subscribe('subscribe_run_workflow', [{ name: 'warm-up', workflow: warmUp }], () => {})
      }
    }, 60_000)

    afterAll(async () => {
      await hs?.stop()
      for (const n of [trusting, anyPeer, untrusting]) await n?.t.close()
    })

    it('Homestar → this node: taken when Homestar is trusted (network.trusted_peers, or trust = "any") and replayed without executing; kept apart when it is not', async (ctx) => {
      const homestar = homestarFor(ctx, hs, unavailable)
      const fromPeers = await Promise.all([trusting, anyPeer].map(async ({ t }) => await metricValue(t, 'ipvm_receipts_from_peers_total')))
      const executed = await Promise.all([trusting, anyPeer].map(async ({ t }) => await metricValue(t, 'ipvm_tasks_executed_total')))
      const candidates = await metricValue(untrusting.t, 'ipvm_receipt_candidates')
      const workflow = chain(rsc, 2, 100)
      const computed = await runOnHomestar(homestar, workflow, 'hs-to-us', 2)
      expect(computed.map(n => [n.receipt.out, n.metadata.replayed])).toEqual([[['ok', 101], false], [['ok', 102], false]])
      const cids = computed.map(cidOf)
      // Homestar copied each receipt into IPFS: the block's CID is the receipt CID
      await waitUntil(() => cids.every(cid => kubo.dagPuts.includes(cid)), WAIT_MS, 'Homestar\'s dag/put of its receipts')

      for (const [i, { t, log }] of [trusting, anyPeer].entries()) {
        await waitUntil(() => cids.every(cid => log.of('received_receipt_pubsub').some(e => e.cid === cid)), WAIT_MS, 'the receipts by gossip')
        // `publisher` is the propagation source, as in Homestar: Homestar itself, or one of our
        // nodes that forwarded Homestar's message first (the message id is the data's hash, so a
        // node hears one copy); who signed it is checked by the provenance below
        for (const cid of cids) expect([key.peerId, ...ourPeers()]).toContain(log.of('received_receipt_pubsub').find(e => e.cid === cid)?.publisher)
        expect(await metricValue(t, 'ipvm_receipts_from_peers_total')).toBe(fromPeers[i] + 2)
        const run = await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
        expect(run.receipts.map(cidOf)).toEqual(cids)
        expect(run.receipts.every(r => r.metadata.replayed)).toBe(true)
        expect(run.status).toMatchObject({ status: 'completed', tasks: { replayed: 2, executed: 0 } })
        expect(await metricValue(t, 'ipvm_tasks_executed_total')).toBe(executed[i])
        // who stands behind the receipt: Homestar, by its signed gossip message (and, for the
        // node that replays second, the first, whose replay's gossip Homestar forwarded; that
        // copy may come before Homestar's own, which then adds Homestar to the vouchers)
        const provenance = async (cid: string): Promise<Provenance> => (await t.client.request<{ provenance: Provenance }>('receipt_get', [cid])).provenance
        const byHomestar = async (cid: string): Promise<boolean> => (await provenance(cid)).vouched_by.some(v => v.peer === key.peerId && v.via === 'pubsub')
        await waitUntil(async () => (await Promise.all(cids.map(byHomestar))).every(Boolean), WAIT_MS, 'Homestar among the vouchers')
        for (const cid of cids) expect((await provenance(cid)).computed_here).toBe(false)
      }

      expect(hsLog.of('published_receipt_pubsub').map(e => e.cid)).toEqual(expect.arrayContaining(cids))

      // the control: the same gossip reaches a node that does not trust Homestar, which keeps it apart
      await waitUntil(async () => await metricValue(untrusting.t, 'ipvm_receipt_candidates') >= candidates + 2, WAIT_MS, 'the receipts kept apart')
      expect(untrusting.log.of('received_receipt_pubsub')).toEqual([])
      expect(await metricValue(untrusting.t, 'ipvm_receipts_from_peers_total')).toBe(0)
      const own = await collectRun(await untrusting.t.client.runWorkflow(workflow), WAIT_MS)
      expect(own.status).toMatchObject({ status: 'completed', tasks: { replayed: 0, executed: 2 } })
      // it computed the same receipts: same CIDs, so no conflict
      expect(own.receipts.map(cidOf)).toEqual(cids)
      expect(await metricValue(untrusting.t, 'ipvm_receipt_conflicts_total')).toBe(0)
    }, 90_000)

    it('this node → Homestar: Homestar takes the gossiped receipts and replays the workflow without fetching or running the Wasm', async (ctx) => {
      const homestar = homestarFor(ctx, hs, unavailable)
      const { t, log } = trusting
      const workflow = chain(rsc, 2, 200)
      const ours = await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
      expect(ours.status).toMatchObject({ status: 'completed', tasks: { executed: 2 } })
      const cids = ours.receipts.map(cidOf)
      // gossip goes out beside the run, not before its end
      await waitUntil(() => cids.every(cid => log.of('published_receipt_pubsub').some(e => e.cid === cid)), WAIT_MS, 'this node to gossip the receipts')
      // Homestar names the peer a message came from, not the one that signed it: this node, or
      // another of ours that forwarded it (they find each other through Homestar's DHT)
      await waitUntil(() => cids.every(cid => hsLog.of('received_receipt_pubsub').some(e => e.cid === cid && ourPeers().includes(e.publisher))), WAIT_MS, 'Homestar to receive the receipts')

      const cats = kubo.count('cat')
      const puts = kubo.dagPuts.length
      const { receipts, submissions } = await replayOnHomestar(homestar, workflow, 'us-to-hs', 2)
      if (submissions > 1) console.log(`Homestar's replay reached its subscriber after ${submissions} submissions`)
      expect(receipts.map(cidOf).sort()).toEqual([...cids].sort())
      expect(receipts.map(n => n.receipt.out).sort()).toEqual([['ok', 201], ['ok', 202]])
      // nothing fetched, nothing computed
      expect(kubo.count('cat')).toBe(cats)
      expect(kubo.dagPuts.length).toBe(puts)
    }, 90_000)

    it('replays gossip again: Homestar hears the receipts this node replays', async (ctx) => {
      const homestar = homestarFor(ctx, hs, unavailable)
      const { t, log } = trusting
      // receipts Homestar computed itself never came to it by gossip: any it hears now are our replays
      const workflow = chain(rsc, 2, 300)
      const cids = (await runOnHomestar(homestar, workflow, 'regossip', 2)).map(cidOf)
      await waitUntil(() => cids.every(cid => log.of('received_receipt_pubsub').some(e => e.cid === cid)), WAIT_MS, 'the receipts by gossip')
      expect(hsLog.of('received_receipt_pubsub').filter(e => cids.includes(e.cid))).toEqual([])
      const run = await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
      expect(run.receipts.every(r => r.metadata.replayed)).toBe(true)
      await waitUntil(() => cids.every(cid => log.of('published_receipt_pubsub').some(e => e.cid === cid)), WAIT_MS, 'this node to gossip its replays')
      // (from this node, or forwarded by another of ours: see above)
      await waitUntil(() => cids.every(cid => hsLog.of('received_receipt_pubsub').some(e => e.cid === cid && ourPeers().includes(e.publisher))), WAIT_MS, 'Homestar to hear them')
    }, 90_000)
  })

  describe('the DHT (no gossip)', () => {
    let key: HomestarKey
    let hs: HomestarProcess | undefined
    let hsLog: HomestarEvents
    let unavailable: string | undefined
    /** Gossip off, trusts any peer. */
    let anyPeer: { t: TestNode, log: EventLog }
    /** Gossip off, trusts Homestar by its peer id. */
    let trusting: { t: TestNode, log: EventLog }

    beforeAll(async () => {
      key = await homestarKey()
      anyPeer = await ourNode({ gossip: false, trust: 'any', dht_timeout_ms: DHT_TIMEOUT_MS })
      trusting = await ourNode({ gossip: false, trusted_peers: [key.peerId], dht_timeout_ms: DHT_TIMEOUT_MS })
      const started = await startHomestar({ key, pubsub: false, nodeAddresses: [anyPeer, trusting].map(n => n.t.node.multiaddrs[0]) })
      if (typeof started === 'string') {
        unavailable = started
        return
      }
      hs = started
      hsLog = await HomestarEvents.open(hs)
      const homestar = hs
      await waitUntil(async () => Object.keys((await homestar.node()).dynamic.connections).length === 2, WAIT_MS, 'Homestar connected to both nodes')
    }, 60_000)

    afterAll(async () => {
      await hs?.stop()
      for (const n of [anyPeer, trusting]) await n?.t.close()
    })

    it('Homestar → this node: found on Homestar under the bare instruction CID and replayed under trust = "any"; unsigned, it vouches for nobody under "trusted"', async (ctx) => {
      const homestar = homestarFor(ctx, hs, unavailable)
      const workflow = chain(rsc, 2, 400)
      const computed = await runOnHomestar(homestar, workflow, 'dht-hs-to-us', 2)
      const cids = computed.map(cidOf)
      // it put its records (and gossiped nothing: pubsub is off)
      await waitUntil(() => cids.every(cid => hsLog.of('put_receipt_dht').some(e => e.cid === cid)), WAIT_MS, 'Homestar\'s puts')
      expect(hsLog.of('published_receipt_pubsub')).toEqual([])

      const { t, log } = anyPeer
      const run = await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
      expect(run.receipts.map(cidOf)).toEqual(cids)
      expect(run.status).toMatchObject({ status: 'completed', tasks: { replayed: 2, executed: 0 } })
      // both tasks were looked up at once: their events come in either order
      const got = log.of('got_receipt_dht').map(e => [e.cid, e.publisher, e.ran])
      expect(got).toHaveLength(2)
      expect(got).toEqual(expect.arrayContaining(computed.map(n => [cidOf(n), key.peerId, n.receipt.ran['/']])))
      expect(log.of('received_receipt_pubsub')).toEqual([])
      expect(await metricValue(t, 'ipvm_dht_operations_total', { op: 'get_receipt', outcome: 'ok' })).toBe(2)
      const stored = await t.client.request<{ provenance: { computed_here: boolean, vouched_by: Array<{ peer: string, via: string, signed: boolean }> } }>('receipt_get', [cids[0]])
      expect(stored.provenance).toEqual({ computed_here: false, vouched_by: [{ peer: key.peerId, via: 'dht', signed: false }] })

      // the same records, to a node that trusts Homestar by name: an unsigned record says nothing
      // about who computed it, so the node runs the tasks itself (and gets the same receipts)
      const own = await collectRun(await trusting.t.client.runWorkflow(workflow), WAIT_MS)
      expect(own.status).toMatchObject({ status: 'completed', tasks: { replayed: 0, executed: 2 } })
      expect(own.receipts.map(cidOf)).toEqual(cids)
      expect(trusting.log.of('got_receipt_dht')).toEqual([])
    }, 90_000)

    it('this node → Homestar: Homestar finds this node\'s records (got_receipt_dht) but, as 0.3.0 does, still runs the tasks of that run; the next run replays', async (ctx) => {
      const homestar = homestarFor(ctx, hs, unavailable)
      const { t, log } = anyPeer
      const workflow = chain(rsc, 2, 500)
      const ours = await collectRun(await t.client.runWorkflow(workflow), WAIT_MS)
      expect(ours.status).toMatchObject({ status: 'completed', tasks: { executed: 2 } })
      const cids = ours.receipts.map(cidOf)
      expect(log.of('published_receipt_pubsub')).toEqual([])

      const cats = kubo.count('cat')
      const first = await runOnHomestar(homestar, workflow, 'dht-us-to-hs', 2)
      // Homestar's background resolver found both records: in its own record store (publisher
      // null: this node put them there) or, when it looked before the put landed, by asking this node
      await waitUntil(() => cids.every(cid => hsLog.of('got_receipt_dht').some(e => e.cid === cid)), WAIT_MS, 'Homestar\'s got_receipt_dht')
      for (const e of hsLog.of('got_receipt_dht').filter(e => cids.includes(e.cid))) expect([null, t.node.peerId]).toContain(e.publisher)
      // … and ran the tasks all the same (it fetched the Wasm): the same receipts, not replayed
      expect(first.map(cidOf)).toEqual(cids)
      expect(first.every(n => n.metadata.replayed === false)).toBe(true)
      expect(kubo.count('cat')).toBe(cats + 1)
      // the receipts are in its database now: submitted again, the workflow replays
      const { receipts } = await replayOnHomestar(homestar, workflow, 'dht-us-to-hs-again', 2)
      expect(receipts.map(cidOf).sort()).toEqual([...cids].sort())
      expect(kubo.count('cat')).toBe(cats + 1)
    }, 90_000)
  })

  it('needed two endpoints of the Kubo API: cat (the Wasm) and dag/put (a copy of each receipt it computed)', (ctx) => {
    if (kubo.requests.length === 0) ctx.skip('Homestar did not run')
    expect(new Set(kubo.requests.map(r => `${r.method} ${r.path}`))).toEqual(new Set(['POST /api/v0/cat', 'POST /api/v0/dag/put']))
    expect(kubo.requests.filter(r => r.path === '/api/v0/cat').every(r => r.arg === rsc.slice('ipfs://'.length))).toBe(true)
  })
})
