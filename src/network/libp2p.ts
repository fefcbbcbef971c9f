import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import { isPeerId, type PeerDiscovery, type PeerId, type PrivateKey } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { packageVersion } from '../util/package.js'
import { homestarMessageId, messageIdToString } from './message-id.js'
import type { NetworkOptions } from './options.js'
import type { ReceiptExchange } from './types.js'
import { receiptRecordRules } from './dht.js'
import { HOMESTAR_PROTOCOL_VERSION } from './homestar-dht.js'

/** Kademlia protocol, the same as Homestar's (and kad-dht's default). */
export const KAD_PROTOCOL = '/ipfs/kad/1.0.0'
/** Largest gossip message, as Homestar's `pubsub.max_transmit_size`. */
export const MAX_GOSSIP_BYTES = 10 * 1024 * 1024
/** Gossip messages from this size on are announced to mesh peers with IDONTWANT when they arrive. */
const IDONTWANT_MIN_BYTES = 64 * 1024

export interface NodeServices {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht: KadDHT
  mdns?: PeerDiscovery
  [key: string]: unknown
}

export type NetworkNode = Libp2p<NodeServices>

/** Builds (does not start) the libp2p node with the services the network uses. */
export interface NetworkNodeParts {
  privateKey: PrivateKey
  exchange: ReceiptExchange
  /** Where libp2p keeps its data, DHT records included (bounded). */
  datastore: Datastore
  /** Whether a peer is refused (it vouched for too many conflicting receipts). */
  isDenied: (peer: PeerId) => boolean
  onInvalidRecord: (err: unknown) => void
}

export async function createNetworkNode (options: NetworkOptions, parts: NetworkNodeParts): Promise<NetworkNode> {
  const { privateKey, exchange, datastore, isDenied, onInvalidRecord } = parts
  const { validators, selectors } = receiptRecordRules(exchange, options.maxRecordBytes, onInvalidRecord)
  const services: Record<string, unknown> = {
    identify: identify(),
    ping: connectedPing(),
    pubsub: gossipsub({
      globalSignaturePolicy: 'StrictSign',
      // Homestar's mesh settings (mesh_n 2, mesh_n_low 1, mesh_n_high 10, mesh_outbound_min 1).
      D: 2,
      Dlo: 1,
      Dhi: 10,
      Dout: 1,
      msgIdFn: (message) => homestarMessageId(message.data),
      // the id depends on the data alone, so a copy of a message already seen (each arrives
      // from several mesh peers) is dropped before its signature is checked again
      fastMsgIdFn: (message) => messageIdToString(homestarMessageId(message.data ?? new Uint8Array())),
      msgIdToStrFn: messageIdToString,
      maxInboundDataLength: MAX_GOSSIP_BYTES,
      allowPublishToZeroTopicPeers: false,
      // to the mesh only (gossip reaches the rest): a message costs its publisher D sends, not one a subscriber
      floodPublish: false,
      // receipts and their batches are small: telling every mesh peer "don't send it" costs as
      // much as the copy it saves
      idontwantMinDataSize: IDONTWANT_MIN_BYTES,
      emitSelf: false
    }),
    dht: kadDHT({
      protocol: KAD_PROTOCOL,
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      validators,
      selectors,
      initialQuerySelfInterval: 0
    })
  }
  if (options.mdns) {
    services.mdns = mdns({ interval: options.mdnsIntervalMs, port: options.mdnsPort, serviceTag: options.mdnsServiceTag })
  }
  const node = await createLibp2p<NodeServices>({
    start: false,
    privateKey,
    nodeInfo: { name: 'ipvm-node', version: packageVersion, userAgent: `${options.agentVersion}/${packageVersion}` },
    addresses: { listen: options.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: options.maxConnections },
    datastore,
    connectionGater: {
      denyDialPeer: (peer) => isDenied(peer),
      denyInboundEncryptedConnection: (peer) => isDenied(peer),
      denyOutboundEncryptedConnection: (peer) => isDenied(peer)
    },
    services: services as never
  })
  // Homestar ignores peers whose identify protocol version is not its own (homestar.md §9.2);
  // identify takes no option for it (its default is the retired "ipfs/0.1.0")
  const host = (node.services.identify as unknown as { host?: { protocolVersion: string } }).host
  if (host !== undefined) host.protocolVersion = HOMESTAR_PROTOCOL_VERSION
  return node
}

/**
 * The ping service, answering pings as usual, but counting a peer with an open connection as
 * alive without sending one: kad-dht pings a peer before it takes it into its routing table,
 * and Homestar does not speak the ping protocol, so it would never be taken.
 */
function connectedPing (): (components: { connectionManager: ConnectionManager }) => Ping {
  const factory = ping() as unknown as (components: unknown) => Ping
  return (components) => {
    const service = factory(components)
    const sendPing = service.ping.bind(service)
    service.ping = async (peer, options) => {
      if (isPeerId(peer) && components.connectionManager.getConnections(peer).length > 0) return 0
      return await sendPing(peer, options)
    }
    return service
  }
}
