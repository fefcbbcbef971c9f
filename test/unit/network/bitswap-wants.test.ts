import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { BitswapSession, Want } from '../../../src/network/bitswap/wants.js'

async function want (session = new BitswapSession(), text = 'block'): Promise<Want> {
  const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text)))
  return new Want(cid, cid.toString(), session)
}

const idle = (): number => 0

describe('network: whom a bitswap want is asked of', () => {
  it('without a known holder: the block of the first peer, whether they have it of the others; then waits', async () => {
    const w = await want()
    expect(w.plan(['A', 'B', 'C'], idle)).toEqual({ state: 'ask', block: 'A', have: ['B', 'C'] })
    w.blockAsked.set('A', Date.now())
    w.haveAsked.add('B').add('C')
    expect(w.plan(['A', 'B', 'C'], idle)).toEqual({ state: 'wait' })
  })

  it('moves to a peer that said it has the block when the asked one does not have it', async () => {
    const w = await want()
    w.blockAsked.set('A', Date.now())
    w.haveAsked.add('B').add('C')
    w.haves.add('C')
    w.out.set('A', 'does not have it')
    expect(w.plan(['A', 'B', 'C'], idle)).toEqual({ state: 'ask', block: 'C', have: [] })
  })

  it('asks one holder of the file: the least busy, then the one that sent the most', async () => {
    const session = new BitswapSession()
    session.delivered('A')
    session.delivered('A')
    session.heard('B')
    const load = new Map([['A', 3], ['B', 1]])
    expect((await want(session, 'x')).plan(['A', 'B', 'C'], p => load.get(p) ?? 0)).toEqual({ state: 'ask', block: 'B', have: [] })
    load.set('A', 1)
    expect((await want(session, 'y')).plan(['A', 'B', 'C'], p => load.get(p) ?? 0)).toEqual({ state: 'ask', block: 'A', have: [] })
    // a holder that went away is not asked
    expect((await want(session, 'z')).plan(['B', 'C'], idle)).toEqual({ state: 'ask', block: 'B', have: [] })
  })

  it('falls back to the peers not asked yet when no holder of the file has the block', async () => {
    const session = new BitswapSession()
    session.delivered('A')
    const w = await want(session)
    w.blockAsked.set('A', Date.now())
    w.out.set('A', 'does not have it')
    expect(w.plan(['A', 'B', 'C'], idle)).toEqual({ state: 'ask', block: 'B', have: ['C'] })
  })

  it('is exhausted when every peer asked is out and nobody is left; waits while an answer may come', async () => {
    const w = await want()
    w.blockAsked.set('A', Date.now())
    w.haveAsked.add('B')
    w.out.set('A', 'disconnected')
    expect(w.plan(['B'], idle)).toEqual({ state: 'wait' }) // B has not answered
    w.out.set('B', 'does not have it')
    expect(w.plan(['B'], idle)).toEqual({ state: 'exhausted' })
    expect(w.describePeers()).toBe('A: disconnected, B: does not have it')
    // a peer that did not answer in time may still send the block
    const slow = await want()
    slow.blockAsked.set('A', Date.now())
    slow.out.set('A', 'no answer in time')
    expect(slow.plan(['A'], idle)).toEqual({ state: 'wait' })
    expect(slow.plan(['A', 'D'], idle)).toEqual({ state: 'ask', block: 'D', have: [] })
  })

  it('waits for peers when nobody is connected and nobody was asked', async () => {
    const w = await want()
    expect(w.plan([], idle)).toEqual({ state: 'wait' })
    expect(w.describePeers()).toBe('no peer was asked')
  })

  it('settles once', async () => {
    const w = await want()
    w.resolve(new Uint8Array([1]))
    w.reject(new Error('late'))
    w.resolve(new Uint8Array([2]))
    expect(await w.promise).toEqual(new Uint8Array([1]))
    expect(w.settled).toBe(true)
  })
})
