import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { RECEIPTS_TOPIC } from '../../src/network/index.js'

const raw: Libp2p[] = []

/** A bare libp2p peer with gossipsub and no validation, to send what a hostile peer would. */
export async function rawPeer (privateKey?: PrivateKey): Promise<Libp2p<{ pubsub: GossipSub }>> {
  const node = await createLibp2p<{ pubsub: GossipSub, identify: unknown }>({
    privateKey: privateKey ?? await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign' }) }
  })
  raw.push(node)
  node.services.pubsub.subscribe(RECEIPTS_TOPIC)
  return node
}


/** Stops every peer `rawPeer` started. */
export async function stopRawPeers (): Promise<void> {
  await Promise.all(raw.splice(0).map(async (n) => { await n.stop() }))
}
