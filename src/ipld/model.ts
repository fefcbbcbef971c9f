import type { CID } from 'multiformats/cid'
import type { Nonce } from './nonce.js'
import type { Ipld, IpldMap } from './value.js'

/**
 * The objects of a Homestar workflow, each with its normalized IPLD form (`ipld`, what gets
 * hashed) and its CID. Parsing lives in `workflow.ts`, `wasm-input.ts` and `receipt.ts`.
 */

/** An instruction: `{rsc, op, input, nnc}`; its CID is what `await/*` arguments point to. */
export interface Instruction {
  /** Resource URL (`ipfs://<cid>` for a link), normalized like rust-url. */
  rsc: string
  /** Operation, trimmed and lower-cased (`wasm/run`). */
  op: string
  /** The raw input, hashed unchanged. */
  input: Ipld
  /** `""`, a base32hex-lower string or 12/16 bytes. */
  nnc: Nonce
  /** `{op, nnc, rsc, input}`. */
  ipld: IpldMap
  /** Instruction CID = cid(`ipld`). */
  cid: CID
}

/** A task: an instruction with its metadata and proofs. */
export interface Task {
  run: Instruction
  /** The receipt that caused this task, or null (anything that is not a link reads as null). */
  cause: CID | null
  /** Kept verbatim (normally `{fuel, memory, time}`), never normalized. */
  meta: Ipld
  /** Links to UCAN proofs; a non-list `prf` reads as `[]`. */
  prf: CID[]
  /** `{prf, run, meta, cause}`. */
  ipld: IpldMap
  /** `ipld` as DAG-CBOR: what `ran` hashes (under `{task: …}`). */
  bytes: Uint8Array
  /** Invocation CID = cid(`{"task": ipld}`): the `ran` of this task's receipt. */
  ran: CID
}

/** A workflow: its tasks in input order. */
export interface Workflow {
  tasks: Task[]
  /** `{tasks: [task ipld…]}`. */
  ipld: IpldMap
  /** Workflow CID = cid(`ipld`). */
  cid: CID
  /** The DAG-CBOR encoding of `ipld`: the bytes `cid` hashes. */
  bytes: Uint8Array
}

/** The tag of a task result. */
export type ResultTag = 'ok' | 'error' | 'just'

/** A receipt: what running the task `ran` produced. Its CID covers exactly these five fields. */
export interface Receipt {
  /** Invocation CID of the task. */
  ran: CID
  /** `["ok", value]` for success (`["error", value]` for a failure, `["just", value]`). */
  out: [ResultTag, Ipld]
  /** `{"op": <wasm function name>}` for Wasm tasks. */
  meta: IpldMap
  /** Issuer DID, or null (Homestar always writes null). */
  iss: string | null
  /** Proof links (Homestar always writes `[]`). */
  prf: CID[]
}

/** The runtime form of a receipt as stored, gossiped and served (`version` "0.2.0"). */
export interface StoredReceipt extends Receipt {
  /** Receipt CID = cid(`{ran, out, meta, iss, prf}`). */
  cid: CID
  /** CID of the instruction that was run. */
  instruction: CID
  version: string
}

/** Branch of an await argument: `await/ok`, `await/error`, or `await/*` (any other key). */
export type AwaitBranch = 'ok' | 'error' | '*'

/** One argument of a `wasm/run` call, classified as Homestar does (§2.3). */
export type Arg =
  | { kind: 'literal', value: Ipld }
  | { kind: 'result', tag: ResultTag, value: Ipld }
  | { kind: 'await', branch: AwaitBranch, cid: CID }

/** The parsed `input` of a `wasm/run` instruction. */
export interface WasmRunInput {
  /** Name of the exported Wasm function. */
  func: string
  args: Arg[]
}
