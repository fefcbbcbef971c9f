import { IpvmError } from '../util/errors.js'

/** Stable codes of the errors the network subsystem raises. */
export const NetworkErrorCode = {
  /** An operation needs the node to be started. */
  NOT_STARTED: 'NETWORK_NOT_STARTED',
  /** A configured listen or peer address is not a valid multiaddr. */
  INVALID_MULTIADDR: 'NETWORK_INVALID_MULTIADDR',
  /** An option is out of range. */
  INVALID_OPTION: 'NETWORK_INVALID_OPTION',
  /** libp2p could not start (e.g. the listen address is taken). */
  START_FAILED: 'NETWORK_START_FAILED',
  /** Every asked peer answered that it does not have the block. */
  BLOCK_NOT_FOUND: 'NETWORK_BLOCK_NOT_FOUND',
  /** No peer delivered the block in time. */
  BLOCK_TIMEOUT: 'NETWORK_BLOCK_TIMEOUT',
  /** No connected peer speaks the block exchange protocol. */
  NO_PEERS: 'NETWORK_NO_PEERS',
  /** The caller aborted the operation. */
  ABORTED: 'NETWORK_ABORTED',
  /** The block's multihash function is not one this node can verify. */
  UNSUPPORTED_HASH: 'NETWORK_UNSUPPORTED_HASH',
  /** A peer sent bytes that do not parse as a protocol message. */
  INVALID_MESSAGE: 'NETWORK_INVALID_MESSAGE',
  /** A record or message from a peer is larger than this node takes. */
  RECORD_TOO_LARGE: 'NETWORK_RECORD_TOO_LARGE',
  /** A signature a peer sent with a receipt does not verify. */
  BAD_SIGNATURE: 'NETWORK_BAD_SIGNATURE',
  /** A task was to go to a peer the trust policy does not trust. */
  PEER_NOT_TRUSTED: 'NETWORK_PEER_NOT_TRUSTED'
} as const

export type NetworkErrorCode = typeof NetworkErrorCode[keyof typeof NetworkErrorCode]

export class NetworkError extends IpvmError<NetworkErrorCode> {}
