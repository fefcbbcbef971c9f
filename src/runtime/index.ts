/**
 * Wasm execution (homestar.md §7): runs a function of a Wasm component or core
 * module with IPLD arguments and returns IPLD, in a pool of worker threads with
 * per-call timeouts, memory caps and cancellation.
 *
 * `WasmRunner` (runner.ts) ties the parts together, each in its folder:
 * - `binary/`: the Wasm binary format: reading core modules, and instrumenting them
 *   so that memory can be capped and reset;
 * - `values/`: the component model's types (read from a component binary) and values:
 *   IPLD to WIT and back, core module values, function lookup;
 * - `artifacts/`: preparing resource bytes into something the workers run, and the
 *   on-disk cache of prepared artifacts;
 * - `workers/`: the worker threads (the execution pool, the worker entry point and its
 *   messages, running a call inside a worker) and the preparation process (`Preparer`,
 *   prepare-process.ts).
 */
export { WasmRunner, type RunRequest, type RunResult, type WasmRunnerComponents } from './runner.js'
export { defaultWasmRunnerOptions, wasmRunnerOptions, type WasmRunnerOptions } from './options.js'
export { RuntimeError, RuntimeErrorCode, isRetryableCode } from './errors.js'
export type { PoolStats } from './workers/pool.js'
export type { WasmLog, WasmLogLevel } from './host.js'
export type { WitFunction, WitParam, WitType } from './values/wit-types.js'
export { lookupFunction, nameCandidates } from './values/func-lookup.js'
export { ipldToWitArgs } from './values/ipld-to-wit.js'
export { witToIpld, parseCidString } from './values/wit-to-ipld.js'
