import type { CID } from 'multiformats/cid'

/**
 * The peers that had blocks of one file (they sent one, or said they have one). The later
 * blocks of the file are asked of them first, one peer a block, the least busy first.
 */
export class BitswapSession {
  /** Peer id → blocks it sent in this session (0: it only said it has one). */
  readonly holders = new Map<string, number>()

  /** A peer said it has a block of the file. */
  heard (peer: string): void {
    if (!this.holders.has(peer)) this.holders.set(peer, 0)
  }

  /** A peer sent a block of the file. */
  delivered (peer: string): void {
    this.holders.set(peer, (this.holders.get(peer) ?? 0) + 1)
  }
}

/** Why a peer is out of the running for a block. */
export type PeerTrouble = 'does not have it' | 'disconnected' | 'unreachable' | 'no answer in time'

/** What to do next for a want: whom to ask for the block and whom whether they have it. */
export type WantPlan =
  | { state: 'ask', block: string, have: string[] }
  /** A peer was asked and may still send the block, or may still say it has it. */
  | { state: 'wait' }
  /** Nobody connected is left to ask and nobody asked may still answer. */
  | { state: 'exhausted' }

/** One block wanted from peers, and what each peer asked about it answered. */
export class Want {
  readonly promise: Promise<Uint8Array>
  private settle!: { resolve: (bytes: Uint8Array) => void, reject: (err: Error) => void }
  settled = false
  /** Callers still waiting; the want is given up when the last one leaves. */
  waiters = 0
  /** Peers sent WANT_BLOCK, with when (ms, `Date.now()`). */
  readonly blockAsked = new Map<string, number>()
  /** Peers sent WANT_HAVE. */
  readonly haveAsked = new Set<string>()
  /** Peers that said they have the block. */
  readonly haves = new Set<string>()
  /** Peers out of the running, and why. */
  readonly out = new Map<string, PeerTrouble>()

  constructor (readonly cid: CID, readonly key: string, readonly session: BitswapSession) {
    this.promise = new Promise<Uint8Array>((resolve, reject) => { this.settle = { resolve, reject } })
    this.promise.catch(() => {})
  }

  resolve (bytes: Uint8Array): void {
    if (this.settled) return
    this.settled = true
    this.settle.resolve(bytes)
  }

  reject (err: Error): void {
    if (this.settled) return
    this.settled = true
    this.settle.reject(err)
  }

  /** Peers asked for the block that may still send it. */
  pendingBlock (): string[] {
    return [...this.blockAsked.keys()].filter(p => !this.out.has(p))
  }

  /**
   * Whom to ask next, given the connected peers (in a stable order) and how many blocks each
   * has been asked for and not sent yet. A peer that had blocks of the same file comes first
   * (the least busy of them); without one, the first peer not asked yet is asked for the block
   * and the others whether they have it, so that a second holder becomes known without
   * sending the block too.
   */
  plan (connected: string[], load: (peer: string) => number): WantPlan {
    if (this.pendingBlock().length > 0) return { state: 'wait' }
    const live = new Set(connected)
    const usable = (p: string): boolean => live.has(p) && !this.out.has(p) && !this.blockAsked.has(p)
    const holders = [...new Set([...this.session.holders.keys(), ...this.haves])].filter(usable)
    if (holders.length > 0) {
      const sent = (p: string): number => this.session.holders.get(p) ?? 0
      holders.sort((a, b) => load(a) - load(b) || sent(b) - sent(a))
      return { state: 'ask', block: holders[0], have: [] }
    }
    const untried = connected.filter(p => usable(p) && !this.haveAsked.has(p))
    if (untried.length > 0) return { state: 'ask', block: untried[0], have: untried.slice(1) }
    const mayAnswer = [...this.haveAsked].some(p => !this.out.has(p) && !this.haves.has(p))
    // a peer that did not answer in time may still; so may peers that connect later when none was asked
    const mayDeliver = [...this.out.values()].includes('no answer in time')
    const neverAsked = this.blockAsked.size === 0 && this.haveAsked.size === 0
    return mayAnswer || mayDeliver || neverAsked ? { state: 'wait' } : { state: 'exhausted' }
  }

  /** Who was asked and what came of it, for error messages: `12D3Koo…: disconnected, …`. */
  describePeers (): string {
    const peers = new Set([...this.blockAsked.keys(), ...this.haveAsked])
    if (peers.size === 0) return 'no peer was asked'
    return [...peers].map(p => `${p}: ${this.out.get(p) ?? (this.haves.has(p) ? 'has it, not sent yet' : 'no answer yet')}`).join(', ')
  }
}
