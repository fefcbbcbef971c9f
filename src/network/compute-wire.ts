import { createHash } from 'node:crypto'
import { type CID } from 'multiformats/cid'
import { cidIn, decode, encode, isIpldMap, receiptFromIpld, receiptIpld, type CapsuleSignature, type Ipld, type IpldMap, type Receipt } from '../ipld/index.js'
import { NetworkError, NetworkErrorCode } from './errors.js'

/**
 * The compute protocols between ipvm nodes, each message a length-prefixed DAG-CBOR map whose
 * length is checked before it is decoded:
 * - `/ipvm/compute/offer/1.0.0`: the asking node sends `{}`, the other answers with its offer
 *   (what it runs and how busy it is) and closes;
 * - `/ipvm/compute/task/1.0.0`: the requester sends one task, ready to run (the task itself, so
 *   the executor derives its CIDs, and the outputs of the instructions it awaits), and may send
 *   `{cancel: true}` later; the executor sends `{started: true}` once a worker slot is its, then
 *   `{receipt, sig}` or `{error}`, and closes.
 */
export const COMPUTE_OFFER_PROTOCOL = '/ipvm/compute/offer/1.0.0'
export const COMPUTE_TASK_PROTOCOL = '/ipvm/compute/task/1.0.0'

/** Largest offer, and largest control message (`{}`, `{started}`, `{cancel}`). */
export const MAX_OFFER_BYTES = 16 * 1024
export const MAX_CONTROL_BYTES = 1024
/** Largest task request (the task and the awaited outputs it carries). */
export const MAX_TASK_REQUEST_BYTES = 8 * 1024 * 1024
/** Largest answer (a receipt with its output). */
export const MAX_TASK_ANSWER_BYTES = 8 * 1024 * 1024
/** Awaited outputs one request carries at most. */
export const MAX_AWAITED = 1024

const MAX_LIST = 32
const MAX_TEXT = 256

/** What a node offers to run for a peer, and how busy it is (as answered to that peer). */
export interface ComputeOffer {
  /** Kinds of Wasm it runs (`component`, `core`) and host interfaces it provides. */
  features: string[]
  /** Resource URL schemes it can fetch (`ipfs`; `http`, `https` where it may). */
  schemes: string[]
  /** Ceiling on a task's timeout and on its memory. */
  maxTimeoutMs: number
  maxMemoryBytes: number
  /** Peers' tasks it runs at once, and how many of those slots are free now. */
  workers: number
  freeSlots: number
  /** Peers' tasks waiting for a slot now, and the most it lets wait. */
  queued: number
  maxQueued: number
  /** Tasks one peer may have on it at once, and how many the asking peer has now. */
  maxInFlightPerPeer: number
  yours: number
}

/** The output of an instruction a dispatched task awaits. */
export interface AwaitedOutput {
  instruction: CID
  ok: boolean
  value: Ipld
}

export interface RemoteTaskRequest {
  /** The task's IPLD (`{prf, run, meta, cause}`): the executor computes its instruction CID and `ran` from it. */
  task: IpldMap
  /** What the requester computed them to be; the executor refuses a task that hashes otherwise. */
  instruction: CID
  ran: CID
  awaited: AwaitedOutput[]
}

/** How the executor answered: a signed receipt, or why it did not run the task. */
export type RemoteTaskAnswer =
  | { receipt: Receipt, signature: CapsuleSignature }
  | { error: { code: string, message: string } }

function invalid (message: string): NetworkError {
  return new NetworkError(NetworkErrorCode.INVALID_MESSAGE, `compute protocol: ${message}`)
}

function map (bytes: Uint8Array, what: string): IpldMap {
  let value: Ipld
  try {
    value = decode(bytes)
  } catch (err) {
    throw invalid(`${what} is not DAG-CBOR (${(err as Error).message})`)
  }
  if (!isIpldMap(value)) throw invalid(`${what} must be a map`)
  return value
}

function count (value: Ipld | undefined, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalid(`${what} must be a non-negative integer`)
  return n
}

function texts (value: Ipld | undefined, what: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) throw invalid(`${what} must be a list of at most ${MAX_LIST} strings`)
  return value.map(v => {
    if (typeof v !== 'string' || v.length > MAX_TEXT) throw invalid(`${what} holds something other than a short string`)
    return v
  })
}

function link (value: Ipld | undefined, what: string): CID {
  const cid = value === undefined ? null : cidIn(value)
  if (cid === null) throw invalid(`${what} must be a link`)
  return cid
}

export function encodeOffer (o: ComputeOffer): Uint8Array {
  return encode({
    features: o.features,
    schemes: o.schemes,
    max_timeout_ms: o.maxTimeoutMs,
    max_memory_bytes: o.maxMemoryBytes,
    workers: o.workers,
    free_slots: o.freeSlots,
    queued: o.queued,
    max_queued: o.maxQueued,
    max_in_flight_per_peer: o.maxInFlightPerPeer,
    yours: o.yours
  })
}

export function decodeOffer (bytes: Uint8Array): ComputeOffer {
  const v = map(bytes, 'an offer')
  return {
    features: texts(v.features, 'features'),
    schemes: texts(v.schemes, 'schemes'),
    maxTimeoutMs: count(v.max_timeout_ms, 'max_timeout_ms'),
    maxMemoryBytes: count(v.max_memory_bytes, 'max_memory_bytes'),
    workers: count(v.workers, 'workers'),
    freeSlots: count(v.free_slots, 'free_slots'),
    queued: count(v.queued, 'queued'),
    maxQueued: count(v.max_queued, 'max_queued'),
    maxInFlightPerPeer: count(v.max_in_flight_per_peer, 'max_in_flight_per_peer'),
    yours: count(v.yours, 'yours')
  }
}

function awaitedIpld (awaited: AwaitedOutput[]): Ipld[] {
  return awaited.map(a => [a.instruction, a.ok, a.value])
}

/**
 * The digest of the awaited outputs a request carries (sha-256 of their DAG-CBOR), which the
 * executor's signature covers. Requester and executor compute it from the same list.
 */
export function inputsDigest (awaited: AwaitedOutput[]): Uint8Array {
  return createHash('sha256').update(encode(awaitedIpld(awaited))).digest()
}

export function encodeTaskRequest (r: RemoteTaskRequest): Uint8Array {
  return encode({ task: r.task, instruction: r.instruction, ran: r.ran, awaited: awaitedIpld(r.awaited) })
}

export function decodeTaskRequest (bytes: Uint8Array): RemoteTaskRequest {
  const v = map(bytes, 'a task request')
  if (!isIpldMap(v.task)) throw invalid('task must be a map')
  if (!Array.isArray(v.awaited) || v.awaited.length > MAX_AWAITED) throw invalid(`awaited must be a list of at most ${MAX_AWAITED} outputs`)
  const awaited = v.awaited.map(entry => {
    if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[1] !== 'boolean') throw invalid('an awaited output is [instruction, ok, value]')
    return { instruction: link(entry[0], 'an awaited instruction'), ok: entry[1], value: entry[2] }
  })
  return { task: v.task, instruction: link(v.instruction, 'instruction'), ran: link(v.ran, 'ran'), awaited }
}

export function encodeTaskAnswer (a: RemoteTaskAnswer): Uint8Array {
  if ('error' in a) return encode({ error: { code: a.error.code.slice(0, MAX_TEXT), message: a.error.message.slice(0, 4 * MAX_TEXT) } })
  return encode({ receipt: receiptIpld(a.receipt), sig: { iss: a.signature.iss, sig: a.signature.sig } })
}

/** An executor's message: `started`, or its final answer. */
export function decodeExecutorMessage (bytes: Uint8Array): { started: true } | RemoteTaskAnswer {
  const v = map(bytes, 'an executor message')
  if (v.started === true) return { started: true }
  if (isIpldMap(v.error)) {
    const { code, message } = v.error
    if (typeof code !== 'string' || typeof message !== 'string') throw invalid('error must be {code, message}')
    return { error: { code: code.slice(0, MAX_TEXT), message: message.slice(0, 4 * MAX_TEXT) } }
  }
  const sig = v.sig
  if (!isIpldMap(sig) || typeof sig.iss !== 'string' || !(sig.sig instanceof Uint8Array) || sig.iss.length > 128 || sig.sig.length > 128) throw invalid('sig must be {iss, sig}')
  if (!isIpldMap(v.receipt)) throw invalid('receipt must be a map')
  return { receipt: receiptFromIpld(v.receipt, 'receipt'), signature: { iss: sig.iss, sig: sig.sig } }
}

export const STARTED_MESSAGE = encode({ started: true })
export const CANCEL_MESSAGE = encode({ cancel: true })
export const OFFER_REQUEST = encode({})

/** Whether a requester's later message is a cancel (anything else is ignored). */
export function isCancel (bytes: Uint8Array): boolean {
  try {
    const v = decode(bytes)
    return isIpldMap(v) && v.cancel === true
  } catch {
    return false
  }
}
