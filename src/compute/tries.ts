import type { CID } from 'multiformats/cid'
import { isIpvmError } from '../util/errors.js'
import type { Ipld } from '../ipld/index.js'
import { ComputeErrorCode } from './errors.js'

/** A peer's verified result for a task. */
export interface PeerResult {
  peer: string
  output: Ipld
  cid: CID
}

/** A peer had no room: the task goes elsewhere, and no attempt is counted. */
export class Busy extends Error {}

/** Whether a try ended because the run was paused before the peer started the task. */
export function isWithdrawn (err: unknown): boolean {
  return isIpvmError(err) && err.code === ComputeErrorCode.WITHDRAWN
}
