import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import type { CapsuleSignature } from '../ipld/index.js'
import { concatBytes } from '../util/bytes.js'
import type { Voucher } from './types.js'

/**
 * A peer's signature over a receipt for an instruction: it says "this receipt answers this
 * instruction, and I stand behind it". It travels beside the receipt (the receipt itself
 * keeps `iss: null`, as Homestar writes it, so its CID is the same on both), so a record
 * relayed by anyone, a DHT record above all, still names who vouches for it.
 *
 * Signed bytes: `"ipvm-receipt-attestation/1" ‖ receipt CID ‖ instruction CID` (binary CIDs).
 */
const DOMAIN = new TextEncoder().encode('ipvm-receipt-attestation/1')

function signedBytes (receipt: CID, instruction: CID): Uint8Array {
  return concatBytes([DOMAIN, receipt.bytes, instruction.bytes])
}

/** Signs a receipt for an instruction with the node's key. */
export async function signReceipt (privateKey: PrivateKey, receipt: CID, instruction: CID): Promise<CapsuleSignature> {
  const sig = await privateKey.sign(signedBytes(receipt, instruction))
  return { iss: issuerOf(privateKey), sig }
}

const issuers = new WeakMap<PrivateKey, string>()

/** The key's peer id as text, worked out once per key. */
function issuerOf (privateKey: PrivateKey): string {
  let iss = issuers.get(privateKey)
  if (iss === undefined) {
    iss = peerIdFromPrivateKey(privateKey).toString()
    issuers.set(privateKey, iss)
  }
  return iss
}

/**
 * The peer id of a valid signature over the receipt for the instruction, or undefined when
 * it does not verify (a peer id that embeds no public key, such as an RSA one, does not).
 */
export async function verifyReceiptSignature (signature: CapsuleSignature, receipt: CID, instruction: CID): Promise<string | undefined> {
  try {
    const peer = peerIdFromString(signature.iss)
    if (peer.publicKey === undefined) return undefined
    return await peer.publicKey.verify(signedBytes(receipt, instruction), signature.sig) ? peer.toString() : undefined
  } catch {
    return undefined
  }
}

/**
 * A peer's signature over a receipt it computed for another node's dispatched task: the same
 * claim, bound also to the inputs the requester gave it (the outputs of the instructions the
 * task awaits, which the instruction only names). It is not a receipt attestation: a
 * requester that made up those inputs cannot pass the result off as the executor's claim
 * about the instruction. The requester, having checked it, vouches for the receipt itself.
 *
 * Signed bytes: `"ipvm-dispatch-attestation/1" ‖ receipt CID ‖ instruction CID ‖ inputs digest`.
 */
const DISPATCH_DOMAIN = new TextEncoder().encode('ipvm-dispatch-attestation/1')

function dispatchBytes (receipt: CID, instruction: CID, inputs: Uint8Array): Uint8Array {
  return concatBytes([DISPATCH_DOMAIN, receipt.bytes, instruction.bytes, inputs])
}

/** Signs a receipt computed for a peer's dispatched task. */
export async function signDispatchedReceipt (privateKey: PrivateKey, receipt: CID, instruction: CID, inputs: Uint8Array): Promise<CapsuleSignature> {
  const sig = await privateKey.sign(dispatchBytes(receipt, instruction, inputs))
  return { iss: peerIdFromPrivateKey(privateKey).toString(), sig }
}

/** The peer id of a valid dispatch signature, or undefined. */
export async function verifyDispatchedReceipt (signature: CapsuleSignature, receipt: CID, instruction: CID, inputs: Uint8Array): Promise<string | undefined> {
  try {
    const peer = peerIdFromString(signature.iss)
    if (peer.publicKey === undefined) return undefined
    return await peer.publicKey.verify(dispatchBytes(receipt, instruction, inputs), signature.sig) ? peer.toString() : undefined
  } catch {
    return undefined
  }
}

/**
 * Who vouches for a receipt record from the DHT, or one a peer answers with as a record it
 * holds (`holder`): its signer, when it carries a signature that verifies; an unsigned one
 * (Homestar writes them so), the holder, and only when any peer is trusted.
 */
export async function recordVouchers (record: { cid: CID, instruction: CID, signature?: CapsuleSignature }, holder: string, anyPeerTrusted: boolean): Promise<Voucher[]> {
  if (record.signature !== undefined) {
    const signer = await verifyReceiptSignature(record.signature, record.cid, record.instruction)
    return signer === undefined ? [] : [{ peer: signer, via: 'dht', signed: true }]
  }
  return anyPeerTrusted ? [{ peer: holder, via: 'dht', signed: false }] : []
}
