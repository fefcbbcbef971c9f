import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { NodeInfo, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { RECEIPTS_TOPIC } from '../../src/network/index.js'

const raw: Libp2p[] = []

/** What every bare peer has: a key, a loopback TCP listener, Noise and yamux. */
async function transport (privateKey?: PrivateKey): Promise<Pick<Libp2pOptions, 'privateKey' | 'addresses' | 'transports' | 'connectionEncrypters' | 'streamMuxers'>> {
  return {
    privateKey: privateKey ?? await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  }
}

/** A bare libp2p peer with gossipsub and no validation, to send what a hostile peer would. */
export async function rawPeer (privateKey?: PrivateKey): Promise<Libp2p<{ pubsub: GossipSub }>> {
  const node = await createLibp2p<{ pubsub: GossipSub, identify: unknown }>({
    ...await transport(privateKey),
    services: { identify: identify(), pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign' }) }
  })
  raw.push(node)
  node.services.pubsub.subscribe(RECEIPTS_TOPIC)
  return node
}

/**
 * A bare libp2p peer with identify only, for a test to give protocol handlers of its own (a
 * lying bitswap peer, a Kademlia peer that answers as Homestar does); `nodeInfo` is what
 * identify says of it.
 */
export async function barePeer (nodeInfo?: Partial<NodeInfo>): Promise<Libp2p> {
  const node = await createLibp2p({ ...await transport(), ...(nodeInfo !== undefined ? { nodeInfo } : {}), services: { identify: identify() } })
  raw.push(node)
  return node
}

/** Stops every peer `rawPeer` and `barePeer` started. */
export async function stopRawPeers (): Promise<void> {
  await Promise.all(raw.splice(0).map(async (n) => { await n.stop() }))
}
