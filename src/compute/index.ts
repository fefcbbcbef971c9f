/**
 * Distributed execution: a node hands ready tasks to its peers and gets verified receipts
 * back. `Compute` (compute.ts) ties the parts together:
 * - `executor.ts`: runs peers' tasks, for the peers `compute.accept` admits, within quotas;
 * - `offers.ts`: what the peers tasks may go to offer, and how busy they are;
 * - `placement.ts`: where one try of a task goes (pure);
 * - `dispatcher.ts`, `replicate.ts`: sending tasks to peers, timing them, withdrawing and
 *   cancelling them, and checking what comes back (`verify.ts`, pure).
 * The wire protocols live with the rest of libp2p in `network/`.
 */
export { Compute, type ComputeComponents, type ComputeInfo, type ComputeNetwork } from './compute.js'
export { computeOptions, defaultComputeOptions, resolveComputeOptions, parseVerify, MAX_REPLICAS, type ComputeOptions, type AcceptPolicy, type VerifyPolicy } from './options.js'
export { ComputeError, ComputeErrorCode } from './errors.js'
export { choose, HERE, type Target, type PeerSlot, type LocalSlot, type PlacementQuery } from './placement.js'
export { checkAnswer, expectedReceipt, sameOutput, replicasAgree, settleAgainst, type SentTask, type InvalidReason, type ReplicaResult } from './verify.js'
export type { ExecutorFaults } from './executor.js'
export type { PeerOfferInfo } from './offers.js'
export { PeerLabels, MAX_LABELLED_PEERS } from './peer-labels.js'
