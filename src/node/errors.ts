import { IpvmError } from '../util/errors.js'

export const NodeErrorCode = {
  /** A lifecycle call the node's state does not allow (start a node twice). */
  STATE: 'NODE_STATE'
} as const
export type NodeErrorCode = typeof NodeErrorCode[keyof typeof NodeErrorCode]

export class NodeError extends IpvmError<NodeErrorCode> {}
