import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { Compute, expectedReceipt } from '../../../src/compute/index.js'
import { parseJson, parseWorkflow, receiptCid, type Ipld } from '../../../src/ipld/index.js'
import { inputsDigest, signDispatchedReceipt, TrustPolicy, type ComputeOffer, type RemoteTaskAnswer, type RemoteTaskRequest } from '../../../src/network/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import type { DispatchHooks, Placement, ReadyTask } from '../../../src/workflow/index.js'
import { waitUntil } from '../../utils/wait.js'

const RSC = 'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const tasks = parseWorkflow(parseJson(JSON.stringify({
  tasks: Array.from({ length: 40 }, (_v, n) => ({ cause: null, meta: {}, prf: [], run: { input: { args: [n], func: 'add_one' }, nnc: '', op: 'wasm/run', rsc: RSC } }))
}))).tasks
/** add_one of task n is n + 1. */
const truth = (request: RemoteTaskRequest): number => tasks.findIndex(t => t.run.cid.equals(request.instruction)) + 1

type Behaviour = (request: RemoteTaskRequest, opts: { signal: AbortSignal, onStarted: () => void }, sign: (output: Ipld) => Promise<RemoteTaskAnswer>) => Promise<RemoteTaskAnswer>

const honest: Behaviour = async (request, opts, sign) => {
  opts.onStarted()
  return await sign(truth(request))
}

/** Peers with their keys and how each answers a task; what the dispatcher sends them is recorded. */
class FakePeers {
  readonly keys = new Map<string, PrivateKey>()
  readonly behaviour = new Map<string, Behaviour>()
  readonly sent: Array<{ peer: string, signal: AbortSignal }> = []
  readonly conflicts: Array<{ peer: string }> = []
  readonly trust = new TrustPolicy({ mode: 'trusted', trustedPeers: [], quorum: 1 })

  async add (behaviour: Behaviour): Promise<string> {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    this.keys.set(id, key)
    this.behaviour.set(id, behaviour)
    this.trust.trust(id)
    return id
  }

  serveCompute (): void {}
  watchComputePeers (): void {}
  computePeers (): Promise<string[]> { return Promise.resolve([...this.keys.keys()]) }
  mayDispatchTo (peer: string): boolean { return this.trust.isTrusted(peer) }
  reportConflict (_i: unknown, _o: unknown, _t: unknown, peer: string): void { this.conflicts.push({ peer }) }

  computeOffer (): Promise<ComputeOffer> {
    return Promise.resolve({ features: [], schemes: ['ipfs'], maxTimeoutMs: 60_000, maxMemoryBytes: 1 << 30, workers: 2, freeSlots: 2, queued: 0, maxQueued: 8, maxInFlightPerPeer: 8, yours: 0 })
  }

  async dispatchTask (peer: string, request: RemoteTaskRequest, opts: { signal: AbortSignal, onStarted: () => void }): Promise<RemoteTaskAnswer> {
    this.sent.push({ peer, signal: opts.signal })
    const key = this.keys.get(peer)!
    const sign = async (output: Ipld): Promise<RemoteTaskAnswer> => {
      const receipt = expectedReceipt({ ran: request.ran, func: 'add_one' }, output)
      return { receipt, signature: await signDispatchedReceipt(key, receiptCid(receipt), request.instruction, inputsDigest(request.awaited)) }
    }
    return await this.behaviour.get(peer)!(request, opts, sign)
  }
}

/** Waits for the signal, then fails as a stream torn down does. */
const hang: Behaviour = async (_r, opts) => await new Promise((_resolve, reject) => { opts.signal.addEventListener('abort', () => reject(new Error('stream aborted')), { once: true }) })

const running: Compute[] = []
afterEach(async () => { for (const c of running.splice(0)) await c.stop() })

async function setup (peers: FakePeers, verify = 'none', dispatchTimeoutMs = 30_000): Promise<Compute> {
  const compute = new Compute({ workers: 2, verify, dispatchTimeoutMs, offerIntervalMs: 60_000 }, {
    network: peers,
    runner: { run: () => Promise.reject(new Error('no runner here')) },
    resources: { fetchResource: () => Promise.reject(new Error('not here')), fetchCid: () => Promise.reject(new Error('not here')) },
    privateKey: await generateKeyPair('Ed25519'),
    limits: { defaultTimeoutMs: 1000, maxTimeoutMs: 60_000, defaultMemoryBytes: 1 << 20, maxMemoryBytes: 1 << 30 },
    logger: silentLogger()
  })
  await compute.start()
  running.push(compute)
  await waitUntil(() => compute.info().peers.length === peers.keys.size, 5000, 'the offers')
  return compute
}

interface Recorder extends DispatchHooks {
  faults: string[]
  local: number
  pause: AbortController
  unpause: () => void
}

function hooks (n: number): Recorder {
  let unpause = (): void => {}
  const unpaused = new Promise<void>(resolve => { unpause = resolve })
  const r: Recorder = {
    faults: [],
    local: 0,
    pause: new AbortController(),
    unpause: () => unpause(),
    runLocal: () => { r.local++; return Promise.resolve(n + 1) },
    onFault: (peer) => { r.faults.push(peer) },
    whenUnpaused: async () => { await unpaused },
    pauseSignal: () => r.pause.signal
  }
  return r
}

function ready (n: number, placement: Placement, signal = new AbortController().signal): ReadyTask {
  const t = tasks[n]
  return { task: t, instruction: t.run.cid, func: 'add_one', rsc: RSC, timeoutMs: 1000, memoryBytes: 1 << 20, awaited: [], placement, signal, group: 'run' }
}

describe('the dispatcher', () => {
  it('sends tasks to peers and takes their signed results, spread over the peers and this node', async () => {
    const peers = new FakePeers()
    const b = await peers.add(honest)
    const c = await peers.add(honest)
    const { dispatcher } = await setup(peers)
    const results = await Promise.all(Array.from({ length: 9 }, async (_v, n) => await dispatcher.execute(ready(n, 'spread'), hooks(n))))
    expect(results.map(r => r.output)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(new Set(results.map(r => r.executor ?? 'here'))).toEqual(new Set(['here', b, c]))
    for (const r of results) {
      if (r.executor === undefined) expect(r).toMatchObject({ computedHere: true, vouchers: [] })
      else expect(r).toMatchObject({ computedHere: false, vouchers: [r.executor] })
    }
  })

  it('a peer that fails a task costs an attempt and the task runs elsewhere; after two such peers it runs here', async () => {
    const peers = new FakePeers()
    const failing: Behaviour = () => Promise.resolve({ error: { code: 'RUNTIME_TRAP', message: 'no' } })
    const ids = [await peers.add(failing), await peers.add(failing), await peers.add(failing)]
    const { dispatcher } = await setup(peers)
    const h = hooks(0)
    expect(await dispatcher.execute(ready(0, 'remote-first'), h)).toEqual({ output: 1, vouchers: [], computedHere: true })
    expect(h.faults).toHaveLength(2)
    expect(new Set(h.faults).size).toBe(2)
    for (const peer of h.faults) expect(ids).toContain(peer)
    expect(h.local).toBe(1)
  })

  it('an answer signed by someone else, or binding to another task, is not taken: the task goes on elsewhere', async () => {
    const peers = new FakePeers()
    const stranger = await generateKeyPair('Ed25519')
    const forged: Behaviour = async (request, opts) => {
      opts.onStarted()
      const receipt = expectedReceipt({ ran: request.ran, func: 'add_one' }, truth(request))
      return { receipt, signature: await signDispatchedReceipt(stranger, receiptCid(receipt), request.instruction, inputsDigest(request.awaited)) }
    }
    const misbound: Behaviour = async (request, opts, sign) => {
      opts.onStarted()
      const answer = await sign(truth(request)) as { receipt: ReturnType<typeof expectedReceipt> }
      return { ...answer, receipt: { ...answer.receipt, ran: tasks[39].ran } } as RemoteTaskAnswer
    }
    const b = await peers.add(forged)
    const c = await peers.add(misbound)
    const { dispatcher } = await setup(peers)
    const h = hooks(4)
    const result = await dispatcher.execute(ready(4, 'remote-first'), h)
    expect(new Set(h.faults)).toEqual(new Set([b, c]))
    expect(result).toEqual({ output: 5, vouchers: [], computedHere: true })
    expect(h.local).toBe(1)
  })

  it('a busy peer costs no attempt', async () => {
    const peers = new FakePeers()
    await peers.add(() => Promise.resolve({ error: { code: 'COMPUTE_BUSY', message: 'full' } }))
    const { dispatcher } = await setup(peers)
    const h = hooks(1)
    expect(await dispatcher.execute(ready(1, 'remote-first'), h)).toEqual({ output: 2, vouchers: [], computedHere: true })
    expect(h.faults).toEqual([])
  })

  it('a peer that does not start a task in time loses it (an attempt) and its offer', async () => {
    const peers = new FakePeers()
    const b = await peers.add(hang)
    const compute = await setup(peers, 'none', 50)
    const h = hooks(2)
    expect(await compute.dispatcher.execute(ready(2, 'remote-first'), h)).toMatchObject({ output: 3, computedHere: true })
    expect(h.faults).toEqual([b])
    expect(peers.sent[0].signal.aborted).toBe(true)
    expect(compute.info().peers).toEqual([])
  })

  it('a task a peer has not started comes back when the run is paused, and goes out again on resume, at no attempt\'s cost', async () => {
    const peers = new FakePeers()
    let first = true
    await peers.add(async (request, opts, sign) => {
      if (first) {
        first = false
        return await hang(request, opts, sign)
      }
      return await honest(request, opts, sign)
    })
    const { dispatcher } = await setup(peers)
    const h = hooks(3)
    const result = dispatcher.execute(ready(3, 'remote-first'), h)
    await waitUntil(() => peers.sent.length === 1, 2000, 'the task sent')
    h.pause.abort()
    await waitUntil(() => peers.sent[0].signal.aborted, 2000, 'the task withdrawn from the peer')
    h.pause = new AbortController()
    expect(peers.sent).toHaveLength(1)
    h.unpause()
    expect(await result).toMatchObject({ output: 4, computedHere: false })
    expect(peers.sent).toHaveLength(2)
    expect(h.faults).toEqual([])
  })

  it('cancelling the run reaches the peer running the task', async () => {
    const peers = new FakePeers()
    await peers.add(async (request, opts, sign) => { opts.onStarted(); return await hang(request, opts, sign) })
    const { dispatcher } = await setup(peers)
    const run = new AbortController()
    const h = hooks(5)
    const result = dispatcher.execute(ready(5, 'remote-first', run.signal), h)
    await waitUntil(() => peers.sent.length === 1, 2000, 'the task sent')
    run.abort(new Error('cancelled'))
    await expect(result).rejects.toThrow()
    expect(peers.sent[0].signal.aborted).toBe(true)
    expect(h.faults).toEqual([])
    expect(h.local).toBe(0)
  })

  it('replicate:2 with a lying peer: its result is a conflict, and the true value stands', async () => {
    const peers = new FakePeers()
    const liar = await peers.add(async (request, opts, sign) => { opts.onStarted(); return await sign(truth(request) + 1000) })
    const honestPeer = await peers.add(honest)
    const { dispatcher } = await setup(peers, 'replicate:2')
    const results = await Promise.all(Array.from({ length: 6 }, async (_v, n) => await dispatcher.execute(ready(10 + n, 'remote-first'), hooks(10 + n))))
    expect(results.map(r => r.output)).toEqual([11, 12, 13, 14, 15, 16])
    // remote-first: both peers ran each task; they never agree, so each was settled here
    expect(results.every(r => r.computedHere && r.vouchers.length === 1 && r.vouchers[0] === honestPeer)).toBe(true)
    expect(peers.conflicts.map(x => x.peer)).toEqual(Array(6).fill(liar))
  })
})
