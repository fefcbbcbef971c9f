/**
 * Wasm execution (homestar.md §7): runs a function of a Wasm component or core
 * module with IPLD arguments and returns IPLD, in a pool of worker threads with
 * per-call timeouts, memory caps and cancellation.
 */
export { WasmRunner, type RunRequest, type RunResult, type WasmRunnerComponents } from './runner.js'
export { defaultWasmRunnerOptions, type WasmRunnerOptions } from './options.js'
export { RuntimeError, RuntimeErrorCode, isRetryableCode } from './errors.js'
export type { WasmLog, WasmLogLevel } from './host.js'
export type { WitFunction, WitParam, WitType } from './wit-types.js'
export { lookupFunction, nameCandidates } from './func-lookup.js'
export { ipldToWitArgs } from './ipld-to-wit.js'
export { witToIpld, parseCidString } from './wit-to-ipld.js'
export { ResourceResolver, KuboBlockSource, GatewayBlockSource, ResourceError, ResourceErrorCode, cidOfUrl, verifyBlock, isContentAddressedUrl, type BlockSource, type ResourceResolverOptions, type ResourceResolverComponents } from './resources.js'
