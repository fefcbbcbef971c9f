/**
 * ipvm-node as a library: start a node in your own process, or talk to one.
 *
 * ```ts
 * import { createNode, loadConfig } from 'ipvm-node'
 * const node = await createNode({ config: loadConfig({ flags: { rpc: { port: 0 } } }) })
 * ```
 */
import './polyfill.js'

export { createNode, IpvmNode, NodeError, NodeErrorCode, type NodeInit, type PortsFile } from './node/index.js'
export { loadConfig, defaultConfig, ConfigError, ConfigErrorCode, type IpvmConfig, type PartialConfig, type ConfigSources } from './config/index.js'
export * from './client/index.js'
export { IpvmError } from './util/errors.js'
export type { Logger } from './util/logger.js'
