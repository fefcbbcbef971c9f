/**
 * The composition root: builds every subsystem from the settings, starts them in dependency
 * order and stops them in reverse.
 */
export { IpvmNode, createNode, type NodeInit } from './node.js'
export { NodeError, NodeErrorCode } from './errors.js'
export type { PortsFile } from './ports-file.js'
