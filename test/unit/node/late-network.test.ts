import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { LateNetwork } from '../../../src/node/late-network.js'
import type { Network } from '../../../src/network/index.js'
import type { PeerReceipts } from '../../../src/workflow/index.js'

const cid = CID.parse('bafkreic4f2x3a5v777kcijl3rsylzrkfedvf4p22ey4ybnbzmgn2eou2aa')
const receipt = (n: number): Parameters<PeerReceipts['publish']>[0] => ({ cid, instruction: cid, receipt: { n } as never })

function fakes (): { network: Network, peers: PeerReceipts, calls: string[], emit: (e: unknown) => void } {
  const calls: string[] = []
  const listeners = new Set<(e: unknown) => void>()
  const network = { subscribe: (l: (e: unknown) => void) => { listeners.add(l); return () => listeners.delete(l) } } as unknown as Network
  const peers: PeerReceipts = {
    findMany: async instructions => { calls.push(`find ${instructions.length}`); return await Promise.resolve(instructions.map(() => true)) },
    publish: r => { calls.push(`publish ${(r.receipt as unknown as { n: number }).n}`) },
    replayed: r => { calls.push(`replayed ${(r.receipt as unknown as { n: number }).n}`) }
  }
  return { network, peers, calls, emit: e => { for (const l of listeners) l(e) } }
}

describe('LateNetwork: the network for the parts built before it', () => {
  it('asks no peer before the network is up, then goes straight to it', async () => {
    const late = new LateNetwork()
    const { network, peers, calls } = fakes()
    expect(await late.peerReceipts().findMany([cid, cid])).toEqual([false, false])
    late.bind(network, peers)
    expect(await late.peerReceipts().findMany([cid])).toEqual([true])
    expect(calls).toEqual(['find 1'])
  })

  it('announces receipts computed before the network is up once it is, in order, and at most the newest 1024', () => {
    const late = new LateNetwork()
    const { network, peers, calls } = fakes()
    const p = late.peerReceipts()
    for (let i = 0; i < 1030; i++) {
      if (i === 1029) p.replayed(receipt(i))
      else p.publish(receipt(i))
    }
    expect(calls).toEqual([])
    late.bind(network, peers)
    expect(calls).toHaveLength(1024)
    expect(calls[0]).toBe('publish 6')
    expect(calls.at(-1)).toBe('replayed 1029')
    p.publish(receipt(2000))
    expect(calls.at(-1)).toBe('publish 2000')
  })

  it('keeps network event listeners taken before the network is up, and lets them go before or after', () => {
    const late = new LateNetwork()
    const { network, peers, emit } = fakes()
    const seen: unknown[] = []
    const gone: unknown[] = []
    const stop = late.subscribe(e => seen.push(e))
    const stopEarly = late.subscribe(e => gone.push(e))
    stopEarly()
    late.bind(network, peers)
    emit('connected')
    stop()
    emit('disconnected')
    expect(seen).toEqual(['connected'])
    expect(gone).toEqual([])
  })
})
