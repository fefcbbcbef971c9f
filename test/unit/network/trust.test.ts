import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { base58btc } from 'multiformats/bases/base58'
import { describe, expect, it } from 'vitest'
import { peerIdOfTrustEntry, TrustPolicy } from '../../../src/network/index.js'

async function peer (): Promise<{ id: string, did: string }> {
  const key = await generateKeyPair('Ed25519')
  const raw = key.publicKey.raw
  return { id: peerIdFromPrivateKey(key).toString(), did: `did:key:${base58btc.encode(Uint8Array.from([0xed, 0x01, ...raw]))}` }
}

describe('trust policy', () => {
  it('names a peer by its id or by the did:key of its Ed25519 key', async () => {
    const p = await peer()
    expect(peerIdOfTrustEntry(p.id)).toBe(p.id)
    expect(peerIdOfTrustEntry(p.did)).toBe(p.id)
    expect(() => peerIdOfTrustEntry('not a peer')).toThrow(expect.objectContaining({ code: 'NETWORK_INVALID_OPTION' }))
    expect(() => peerIdOfTrustEntry('did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc')).toThrow(expect.objectContaining({ code: 'NETWORK_INVALID_OPTION' }))
  })

  it('"trusted" trusts the peers named, and needs the quorum of them to agree', async () => {
    const [a, b, c] = [await peer(), await peer(), await peer()]
    const one = new TrustPolicy({ mode: 'trusted', trustedPeers: [a.id], quorum: 1 })
    expect(one.isTrusted(a.id)).toBe(true)
    expect(one.isTrusted(b.id)).toBe(false)
    expect(one.satisfiedBy([b.id, c.id])).toBe(false)
    expect(one.satisfiedBy([a.id])).toBe(true)
    one.trust(b.id)
    expect(one.isTrusted(b.id)).toBe(true)
    const two = new TrustPolicy({ mode: 'trusted', trustedPeers: [a.did, b.id], quorum: 2 })
    expect(two.satisfiedBy([a.id])).toBe(false)
    expect(two.satisfiedBy([a.id, a.id, c.id])).toBe(false)
    expect(two.satisfiedBy([a.id, b.id])).toBe(true)
  })

  it('"any" trusts every peer and "none" no peer, named or not', async () => {
    const [a, b] = [await peer(), await peer()]
    const any = new TrustPolicy({ mode: 'any', trustedPeers: [], quorum: 1 })
    expect(any.isTrusted(b.id)).toBe(true)
    expect(any.satisfiedBy([b.id])).toBe(true)
    expect(any.isNamed(b.id)).toBe(false)
    const none = new TrustPolicy({ mode: 'none', trustedPeers: [a.id], quorum: 1 })
    expect(none.isTrusted(a.id)).toBe(false)
    expect(none.satisfiedBy([a.id])).toBe(false)
    expect(none.isNamed(a.id)).toBe(true)
  })
})
