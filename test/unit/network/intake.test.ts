import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { cidOf, encode, encodeGossipReceipt, encodeReceipt, receiptCid, toStoredReceipt, wasmReceipt, type Receipt } from '../../../src/ipld/index.js'
import { homestarReceiptExchange, TrustPolicy, type TrustMode } from '../../../src/network/index.js'
import { NetworkEvents, type NetworkNotification } from '../../../src/network/events.js'
import { ReceiptIntake } from '../../../src/network/intake.js'
import type { Store } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { memoryStore } from '../../utils/memory-store.js'

const exchange = homestarReceiptExchange()
const stores: Store[] = []
afterEach(async () => { for (const s of stores.splice(0)) await s.stop() })

async function peerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** A task's instruction and invocation, and a receipt for it with output `value`. */
function receiptFor (n: number, value: number): { instruction: ReturnType<typeof cidOf>, receipt: Receipt } {
  const instruction = cidOf({ op: 'wasm/run', nnc: '', rsc: 'ipfs://x', input: { args: [n], func: 'add_one' } })
  const ran = cidOf({ task: { run: instruction, meta: {}, prf: [], cause: null } })
  return { instruction, receipt: wasmReceipt(ran, 'add_one', value) }
}

function decoded (r: { instruction: ReturnType<typeof cidOf>, receipt: Receipt }): ReturnType<typeof exchange.decodeGossip> {
  return exchange.decodeGossip(encodeGossipReceipt(toStoredReceipt(r.receipt, r.instruction)))
}

async function setup (mode: TrustMode, trusted: string[], opts: { quorum?: number, maxCandidates?: number, maxCandidateBytes?: number } = {}): Promise<{ intake: ReceiptIntake, store: Store, events: NetworkNotification[], penalised: string[] }> {
  const store = await memoryStore()
  stores.push(store)
  const events = new NetworkEvents()
  const seen: NetworkNotification[] = []
  events.subscribe(n => seen.push(n))
  const penalised: string[] = []
  const intake = new ReceiptIntake({ maxCandidates: opts.maxCandidates ?? 100, maxCandidateBytes: opts.maxCandidateBytes ?? 1 << 20 }, {
    trust: new TrustPolicy({ mode, trustedPeers: trusted, quorum: opts.quorum ?? 1 }),
    store: store.receipts,
    events,
    logger: silentLogger(),
    onConflict: peer => penalised.push(peer)
  })
  return { intake, store, events: seen, penalised }
}

const gossip = (peer: string): Array<{ peer: string, via: 'pubsub', signed: false }> => [{ peer, via: 'pubsub', signed: false }]

describe('receipt intake', () => {
  it('stores a trusted peer\'s receipt with who vouched, and keeps an untrusted one apart', async () => {
    const [friend, stranger] = [await peerId(), await peerId()]
    const { intake, store } = await setup('trusted', [friend])
    const r1 = receiptFor(1, 2)
    expect(await intake.take(decoded(r1), gossip(stranger))).toBe('candidate')
    expect(await store.receipts.getByInstruction(r1.instruction)).toBeUndefined()
    expect(intake.candidateCount).toBe(1)
    expect(await intake.take(decoded(r1), gossip(friend))).toBe('stored')
    const kept = await store.receipts.getByInstruction(r1.instruction)
    expect(kept?.cid.equals(receiptCid(r1.receipt))).toBe(true)
    // the untrusted voucher seen first is remembered beside the trusted one
    expect(kept?.provenance).toEqual({ local: false, vouchers: [{ peer: stranger, via: 'pubsub', signed: false }, { peer: friend, via: 'pubsub', signed: false }] })
    expect(intake.candidateCount).toBe(0)
  })


  it('weighs a batch in order: stored, known and candidate apart, and a second receipt for an instruction after the first', async () => {
    const friend = await peerId()
    const { intake, store, penalised } = await setup('trusted', [friend])
    const known = receiptFor(10, 11)
    await store.receipts.put({ cid: receiptCid(known.receipt), instruction: known.instruction, bytes: encodeReceipt(known.receipt) })
    const fresh = receiptFor(12, 13)
    const rival = receiptFor(12, 99) // the same instruction as `fresh`, another result
    const failed = { ...receiptFor(14, 0), receipt: { ...receiptFor(14, 0).receipt, out: ['error', 'no'] as Receipt['out'] } }
    const verdicts = await intake.takeMany([decoded(fresh), decoded(known), decoded(rival), decoded(failed)], gossip(friend))
    expect(verdicts).toEqual(['stored', 'known', 'conflict', 'ignored'])
    expect((await store.receipts.getByInstruction(fresh.instruction))?.cid.equals(receiptCid(fresh.receipt))).toBe(true)
    expect(penalised).toEqual([friend])
    // a stranger's batch is kept apart whole
    const stranger = await peerId()
    const [a, b] = [receiptFor(15, 16), receiptFor(17, 18)]
    expect(await intake.takeMany([decoded(a), decoded(b)], gossip(stranger))).toEqual(['candidate', 'candidate'])
    expect(intake.candidateCount).toBe(2)
  })

  it('needs receipt_quorum_agree distinct trusted peers', async () => {
    const [a, b] = [await peerId(), await peerId()]
    const { intake, store } = await setup('trusted', [a, b], { quorum: 2 })
    const r = receiptFor(2, 3)
    expect(await intake.take(decoded(r), gossip(a))).toBe('candidate')
    expect(await intake.take(decoded(r), gossip(a))).toBe('candidate')
    expect(await store.receipts.getByInstruction(r.instruction)).toBeUndefined()
    expect(await intake.take(decoded(r), gossip(b))).toBe('stored')
  })

  it('a receipt that disagrees with the node\'s own is a conflict: counted, announced, penalised, not stored', async () => {
    const friend = await peerId()
    const { intake, store, events, penalised } = await setup('trusted', [friend])
    const truth = receiptFor(3, 4)
    await store.receipts.put({ cid: receiptCid(truth.receipt), instruction: truth.instruction, bytes: encodeReceipt(truth.receipt) })
    const lie = receiptFor(3, 1000)
    expect(await intake.take(decoded(lie), gossip(friend))).toBe('conflict')
    expect(penalised).toEqual([friend])
    expect(events.map(e => Object.keys(e)[0])).toEqual(['receipt_conflict'])
    expect((events[0] as unknown as { receipt_conflict: Record<string, string> }).receipt_conflict).toMatchObject({ cid: receiptCid(lie.receipt).toString(), ours: receiptCid(truth.receipt).toString(), instruction: truth.instruction.toString(), publisher: friend })
    expect((await store.receipts.getByInstruction(truth.instruction))?.cid.equals(receiptCid(truth.receipt))).toBe(true)
    // the same result again is no conflict
    expect(await intake.take(decoded(truth), gossip(friend))).toBe('known')
  })

  it('a candidate that disagrees with what the node computes later is a conflict then', async () => {
    const stranger = await peerId()
    const { intake, penalised } = await setup('trusted', [])
    const lie = receiptFor(4, 0)
    expect(await intake.take(decoded(lie), gossip(stranger))).toBe('candidate')
    const truth = receiptFor(4, 5)
    intake.settle(truth.instruction, receiptCid(truth.receipt), encode(['ok', 5]))
    expect(penalised).toEqual([stranger])
    expect(intake.candidateCount).toBe(0)
  })

  it('never takes an error receipt as a result, nor a receipt whose issuer vouches for nothing', async () => {
    const friend = await peerId()
    const { intake, store } = await setup('trusted', [friend])
    const failed = receiptFor(5, 0)
    const errorReceipt: Receipt = { ...failed.receipt, out: ['error', { code: 'X', message: 'no' }] }
    expect(await intake.take(decoded({ instruction: failed.instruction, receipt: errorReceipt }), gossip(friend))).toBe('ignored')
    const impostor: Receipt = { ...failed.receipt, iss: 'did:key:z6MkSomeoneElse' }
    expect(await intake.take(decoded({ instruction: failed.instruction, receipt: impostor }), gossip(friend))).toBe('invalid')
    expect(await store.receipts.getByInstruction(failed.instruction)).toBeUndefined()
  })

  it('keeps candidates within their count and byte budgets, dropping the oldest', async () => {
    const stranger = await peerId()
    const byCount = await setup('trusted', [], { maxCandidates: 3 })
    for (let i = 0; i < 10; i++) await byCount.intake.take(decoded(receiptFor(100 + i, i)), gossip(stranger))
    expect(byCount.intake.candidateCount).toBe(3)
    const size = decoded(receiptFor(200, 1)).bytes.byteLength
    const byBytes = await setup('trusted', [], { maxCandidateBytes: size * 2 + 1 })
    for (let i = 0; i < 10; i++) await byBytes.intake.take(decoded(receiptFor(200 + i, i)), gossip(stranger))
    expect(byBytes.intake.candidateCount).toBe(2)
    expect(byBytes.intake.candidateBytes).toBeLessThanOrEqual(size * 2 + 1)
  })

  it('"any" stores every peer\'s receipt, as Homestar does; "none" none', async () => {
    const stranger = await peerId()
    const any = await setup('any', [])
    expect(await any.intake.take(decoded(receiptFor(6, 7)), gossip(stranger))).toBe('stored')
    const none = await setup('none', [stranger])
    expect(await none.intake.take(decoded(receiptFor(6, 7)), gossip(stranger))).toBe('candidate')
  })
})
