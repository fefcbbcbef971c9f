import type { CID } from 'multiformats/cid'
import { cidText, decode, encode } from '../ipld/index.js'
import { equalBytes } from '../util/bytes.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { NetworkEvents } from './events.js'
import type { TrustPolicy } from './trust.js'
import type { DecodedReceipt, NetworkMetricGroups, PeerReceiptStore, Voucher } from './types.js'

/**
 * What became of a receipt a peer sent:
 * - `stored`: trusted peers vouch for it enough; it is in the store and may be reused;
 * - `known`: the store already holds it, or a receipt with the same result;
 * - `candidate`: kept apart (in memory, bounded) until enough trusted peers vouch for it; never a result;
 * - `conflict`: it disagrees with the node's own or a trusted receipt for the same instruction;
 * - `ignored`: not a result (an error receipt) or dropped under load;
 * - `invalid`: it names an issuer nobody vouching for it is.
 */
export type IntakeVerdict = 'stored' | 'known' | 'candidate' | 'conflict' | 'ignored' | 'invalid'

export interface ReceiptIntakeOptions {
  /** Candidate receipts kept at once. */
  maxCandidates: number
  /** Bytes of candidate receipts kept at once. */
  maxCandidateBytes: number
}

export interface ReceiptIntakeComponents {
  trust: TrustPolicy
  store: PeerReceiptStore
  events: NetworkEvents
  logger: Logger
  metrics?: NetworkMetricGroups
  /** Called once per peer that vouched for a conflicting receipt (the network penalises it). */
  onConflict: (peer: string) => void
}

interface Candidate {
  receipt: DecodedReceipt
  vouchers: Voucher[]
  size: number
}

/**
 * Decides what a receipt from a peer is worth under the trust policy, and remembers the
 * ones not (yet) vouched for enough, within a budget. A receipt that disagrees with the
 * node's own or an admitted one is a conflict: counted (`ipvm_receipt_conflicts_total`),
 * announced (`receipt_conflict`), logged with both CIDs, and its vouchers penalised.
 */
export class ReceiptIntake {
  /** Candidates by receipt CID, oldest first (a Map keeps insertion order). */
  private readonly candidates = new Map<string, Candidate>()
  /** Candidate receipt CIDs by instruction CID. */
  private readonly byInstruction = new Map<string, Set<string>>()
  private bytes = 0

  constructor (private readonly options: ReceiptIntakeOptions, private readonly c: ReceiptIntakeComponents) {}

  get candidateCount (): number { return this.candidates.size }
  get candidateBytes (): number { return this.bytes }

  /** Weighs one receipt vouched for by `vouchers` (peers that published or signed it). */
  async take (receipt: DecodedReceipt, vouchers: Voucher[]): Promise<IntakeVerdict> {
    return (await this.takeMany([receipt], vouchers))[0]
  }

  /**
   * Weighs receipts vouched for by the same peers (one, or a gossip batch): one read of the
   * store for all of them and one write for those it keeps. Verdicts in input order. Of two
   * receipts for one instruction, the second is weighed once the first is settled.
   */
  async takeMany (receipts: DecodedReceipt[], vouchers: Voucher[]): Promise<IntakeVerdict[]> {
    const verdicts: Array<IntakeVerdict | undefined> = receipts.map(r => this.precheck(r, vouchers))
    const instructions = new Set<string>()
    const now: number[] = []
    const later: number[] = []
    verdicts.forEach((v, n) => {
      if (v !== undefined) return
      const instruction = cidText(receipts[n].instruction)
      if (instructions.has(instruction)) later.push(n)
      else now.push(n)
      instructions.add(instruction)
    })
    const existing = now.length === 0 ? [] : await this.c.store.getManyByInstruction(now.map(n => receipts[n].instruction))
    const puts: Array<{ n: number, admit: boolean, vouchers: Voucher[] }> = []
    now.forEach((n, k) => {
      const receipt = receipts[n]
      const found = existing[k]
      if (found !== undefined) {
        if (found.cid.equals(receipt.cid)) {
          puts.push({ n, admit: false, vouchers })
          verdicts[n] = 'known'
        } else if (!equalBytes(outOf(found.bytes), receipt.out)) {
          this.conflict(receipt, found.cid, vouchers)
          verdicts[n] = 'conflict'
        } else {
          verdicts[n] = 'known'
        }
        return
      }
      const id = cidText(receipt.cid)
      const all = mergeVouchers(this.candidates.get(id)?.vouchers ?? [], vouchers)
      if (this.c.trust.satisfiedBy(all.map(v => v.peer))) {
        this.forget(id)
        puts.push({ n, admit: true, vouchers: all })
        verdicts[n] = 'stored'
        return
      }
      this.remember(receipt, all)
      verdicts[n] = 'candidate'
    })
    if (puts.length > 0) {
      const results = await this.c.store.putMany(puts.map(({ n, vouchers }) => {
        const { cid, instruction, bytes } = receipts[n]
        return { cid, instruction, bytes, source: { kind: 'peer' as const, vouchers } }
      }))
      puts.forEach(({ n, admit }, k) => {
        if (!admit) return
        if (results[k].stored) this.c.metrics?.receipts.fromPeers.inc()
        // candidates for the same instruction that disagree with what is now admitted
        this.settle(receipts[n].instruction, receipts[n].cid, receipts[n].out)
      })
    }
    if (later.length > 0) {
      const rest = await this.takeMany(later.map(n => receipts[n]), vouchers)
      later.forEach((n, k) => { verdicts[n] = rest[k] })
    }
    return verdicts as IntakeVerdict[]
  }

  /** The verdict on a receipt that needs no look at the store, if it has one. */
  private precheck (receipt: DecodedReceipt, vouchers: Voucher[]): IntakeVerdict | undefined {
    if (!receipt.ok) return 'ignored'
    if (receipt.issuer !== null && !vouchers.some(v => v.peer === receipt.issuer)) {
      this.c.metrics?.receipts.invalidFromPeers.inc({ reason: 'issuer_mismatch' })
      return 'invalid'
    }
    return undefined
  }

  /**
   * A receipt the node computed itself or admitted: candidates for the same instruction that
   * disagree with it are conflicts; the ones that agree are not needed any more.
   */
  settle (instruction: CID, cid: CID, out: Uint8Array): void {
    const ids = this.byInstruction.get(cidText(instruction))
    if (ids === undefined) return
    for (const id of [...ids]) {
      const candidate = this.candidates.get(id)
      if (candidate === undefined) continue
      this.forget(id)
      if (!equalBytes(candidate.receipt.out, out)) this.conflict(candidate.receipt, cid, candidate.vouchers)
    }
  }

  /**
   * The node computed a receipt for an instruction whose reusable receipt so far was a
   * peer's (`theirs`): if they disagree, that is a conflict of the peers that vouched for it.
   */
  async displaced (instruction: CID, ours: CID, out: Uint8Array, theirs: CID): Promise<void> {
    const [bytes, [provenance]] = await Promise.all([this.c.store.get(theirs), this.c.store.provenanceOf([theirs])])
    if (bytes === undefined || equalBytes(outOf(bytes), out)) return
    this.conflict({ cid: theirs, instruction }, ours, provenance?.vouchers ?? [])
  }

  /**
   * A conflict found elsewhere (a dispatched task's result that disagrees with this node's or
   * the other executors'): counted, announced, logged and held against the peers as any other.
   */
  reportConflict (theirs: Pick<DecodedReceipt, 'cid' | 'instruction'>, ours: CID, vouchers: Voucher[]): void {
    this.conflict(theirs, ours, vouchers)
  }

  private conflict (theirs: Pick<DecodedReceipt, 'cid' | 'instruction'>, ours: CID, vouchers: Voucher[]): void {
    const instruction = cidText(theirs.instruction)
    const publishers = vouchers.map(v => v.peer)
    this.c.metrics?.receipts.conflicts.inc()
    this.c.logger.warn({ instruction, ours: cidText(ours), theirs: cidText(theirs.cid), peers: publishers }, 'a peer vouched for a receipt that disagrees with this node\'s')
    for (const peer of publishers) {
      this.c.events.emit('receipt_conflict', { cid: cidText(theirs.cid), instruction, ours: cidText(ours), publisher: peer })
      try {
        this.c.onConflict(peer)
      } catch (err) {
        this.c.logger.debug({ peer, err: errorMessage(err) }, 'penalising a peer failed')
      }
    }
  }

  private remember (receipt: DecodedReceipt, vouchers: Voucher[]): void {
    const id = cidText(receipt.cid)
    const size = receipt.bytes.byteLength
    if (size > this.options.maxCandidateBytes) {
      this.c.metrics?.network.peerInputDropped.inc({ kind: 'candidate_too_large' })
      return
    }
    this.forget(id)
    this.candidates.set(id, { receipt, vouchers, size })
    this.bytes += size
    const instruction = cidText(receipt.instruction)
    let ids = this.byInstruction.get(instruction)
    if (ids === undefined) this.byInstruction.set(instruction, ids = new Set())
    ids.add(id)
    for (const [oldest] of this.candidates) {
      if (this.candidates.size <= this.options.maxCandidates && this.bytes <= this.options.maxCandidateBytes) break
      this.forget(oldest)
      this.c.metrics?.network.peerInputDropped.inc({ kind: 'candidate_evicted' })
    }
  }

  private forget (id: string): void {
    const candidate = this.candidates.get(id)
    if (candidate === undefined) return
    this.candidates.delete(id)
    this.bytes -= candidate.size
    const instruction = cidText(candidate.receipt.instruction)
    const ids = this.byInstruction.get(instruction)
    ids?.delete(id)
    if (ids?.size === 0) this.byInstruction.delete(instruction)
  }
}

/** `b`'s vouchers added to `a`'s (one per peer; a signed one wins). */
function mergeVouchers (a: Voucher[], b: Voucher[]): Voucher[] {
  const byPeer = new Map(a.map(v => [v.peer, v]))
  for (const v of b) {
    const known = byPeer.get(v.peer)
    if (known === undefined || (v.signed && !known.signed)) byPeer.set(v.peer, v)
  }
  return [...byPeer.values()]
}

/** The DAG-CBOR of a stored receipt's `out`. */
export function outOf (receiptBytes: Uint8Array): Uint8Array {
  const value = decode(receiptBytes) as { out?: unknown } | null
  return encode((value as { out: never }).out ?? null)
}
