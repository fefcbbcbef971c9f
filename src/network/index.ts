export { Network, type PublishReceiptInput, type PublishReceiptResult } from './network.js'
export { defaultNetworkOptions, resolveNetworkOptions, networkOptions, type NetworkOptions } from './options.js'
export { NetworkError, NetworkErrorCode } from './errors.js'
export {
  networkNotification,
  notificationType,
  type NetworkEventFields,
  type NetworkEventType,
  type NetworkNotification,
  type NetworkNotificationListener
} from './events.js'
export type { FoundReceipt } from './dht.js'
export { receiptRecordKey, instructionFromRecordKey } from './dht.js'
export { RECEIPTS_TOPIC, RECEIPT_BATCH_TOPIC, MAX_BATCH_RECEIPTS } from './gossip.js'
export { KAD_PROTOCOL } from './libp2p.js'
export { BITSWAP_PROTOCOLS } from './bitswap/bitswap.js'
export { homestarMessageId } from './message-id.js'
export type {
  Blocks,
  DecodedReceipt,
  NetworkComponents,
  NetworkMetricGroups,
  PeerReceiptStore,
  ReceiptExchange,
  ReceiptVia,
  Voucher
} from './types.js'
export { homestarReceiptExchange, receiptWireForms } from './homestar-receipts.js'
export { TrustPolicy, peerIdOfTrustEntry, type TrustMode, type TrustOptions } from './trust.js'
export { signReceipt, verifyReceiptSignature, signDispatchedReceipt, verifyDispatchedReceipt } from './attestation.js'
export type { ComputeService, ComputePeerListener } from './compute-transport.js'
export {
  COMPUTE_OFFER_PROTOCOL, COMPUTE_TASK_PROTOCOL, inputsDigest,
  type AwaitedOutput, type ComputeOffer, type RemoteTaskAnswer, type RemoteTaskRequest
} from './compute-wire.js'
export type { IntakeVerdict } from './intake.js'
export { PeerReceiptService, type PeerReceiptServiceComponents } from './peer-receipts.js'
