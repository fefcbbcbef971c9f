import { availableParallelism } from 'node:os'
import { defaultConfig, type IpvmConfig } from '../config/index.js'
import { withDefaults } from '../util/options.js'
import { ComputeError, ComputeErrorCode } from './errors.js'

/** Whose tasks this node runs: nobody's, the peers it names (`network.peers`, `network.trusted_peers`), anybody's. */
export type AcceptPolicy = 'none' | 'trusted' | 'any'

/** How a peer's result is checked beyond the trust policy. */
export type VerifyPolicy =
  | { kind: 'none' }
  /** That fraction of the tasks that ran on a peer also runs here, and the results are compared. */
  | { kind: 'sample', fraction: number }
  /** Each task runs on `k` executors (peers, and this node when too few peers have room); accepted when all agree. */
  | { kind: 'replicate', k: number }

export interface ComputeOptions {
  /** @default 'trusted' (`compute.accept`) */
  accept: AcceptPolicy
  /** Tasks one peer may have here at once (running or queued), and at most sent to one peer at once. @default 16 (`compute.max_in_flight_per_peer`) */
  maxInFlightPerPeer: number
  /** Peers' tasks waiting here for a worker slot at once. @default 64 (`compute.max_queued_remote`) */
  maxQueuedRemote: number
  /** @default 'none' (`compute.verify`) */
  verify: string
  /** How long a peer may take to start a task, and to deliver it beyond the task's timeout. @default 30000 (`compute.dispatch_timeout_ms`) */
  dispatchTimeoutMs: number
  /** Peers' tasks run at once here (the worker slots offered). @default os.availableParallelism() */
  workers: number
  /** How often peers' offers are asked for again. @default 5000 */
  offerIntervalMs: number
  /** An offer older than this is not used until it is refreshed. @default 20000 */
  offerTtlMs: number
  /** Peers one attempt of a task may fail on before it runs here. @default 2 */
  maxRemoteTries: number
}

type ConfiguredComputeOptions = 'accept' | 'maxInFlightPerPeer' | 'maxQueuedRemote' | 'verify' | 'dispatchTimeoutMs'

/** The compute options from the `[compute]` settings. */
export function computeOptions (config: IpvmConfig['compute']): Pick<ComputeOptions, ConfiguredComputeOptions> {
  return {
    accept: config.accept,
    maxInFlightPerPeer: config.max_in_flight_per_peer,
    maxQueuedRemote: config.max_queued_remote,
    verify: config.verify,
    dispatchTimeoutMs: config.dispatch_timeout_ms
  }
}

export const defaultComputeOptions: ComputeOptions = {
  ...computeOptions(defaultConfig.compute),
  workers: Math.max(1, availableParallelism()),
  offerIntervalMs: 5000,
  offerTtlMs: 20_000,
  maxRemoteTries: 2
}

/** Defaults under the given options; throws `COMPUTE_INVALID_OPTION` for what is out of range. */
export function resolveComputeOptions (options: Partial<ComputeOptions>): ComputeOptions {
  const merged = withDefaults(defaultComputeOptions, options)
  for (const key of ['maxInFlightPerPeer', 'dispatchTimeoutMs', 'workers', 'offerIntervalMs', 'offerTtlMs', 'maxRemoteTries'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) throw new ComputeError(ComputeErrorCode.INVALID_OPTION, `compute option ${key} must be a positive integer`, { option: key, value: merged[key] })
  }
  if (!Number.isInteger(merged.maxQueuedRemote) || merged.maxQueuedRemote < 0) throw new ComputeError(ComputeErrorCode.INVALID_OPTION, 'compute option maxQueuedRemote must be a non-negative integer', { option: 'maxQueuedRemote', value: merged.maxQueuedRemote })
  if (!['none', 'trusted', 'any'].includes(merged.accept)) throw new ComputeError(ComputeErrorCode.INVALID_OPTION, 'compute.accept must be none, trusted or any', { option: 'accept', value: merged.accept })
  parseVerify(merged.verify)
  return merged
}

/** Most executors one task may be replicated on. */
export const MAX_REPLICAS = 16

/** Reads `none`, `sample:<fraction>` (0 to 1) or `replicate:<k>` (1 to 16); throws `COMPUTE_INVALID_OPTION` otherwise. */
export function parseVerify (text: string): VerifyPolicy {
  if (text === 'none') return { kind: 'none' }
  const [kind, arg, ...rest] = text.split(':')
  const bad = (): ComputeError => new ComputeError(ComputeErrorCode.INVALID_OPTION, `compute.verify must be none, sample:<fraction from 0 to 1> or replicate:<k from 1 to ${MAX_REPLICAS}>, not ${JSON.stringify(text)}`, { option: 'verify', value: text })
  if (rest.length > 0 || arg === undefined || !/^[0-9.]+$/.test(arg)) throw bad()
  const n = Number(arg)
  if (kind === 'sample' && Number.isFinite(n) && n >= 0 && n <= 1) return { kind: 'sample', fraction: n }
  if (kind === 'replicate' && Number.isInteger(n) && n >= 1 && n <= MAX_REPLICAS) return { kind: 'replicate', k: n }
  throw bad()
}
