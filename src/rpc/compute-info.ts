import type { ComputeInfo } from '../compute/index.js'
import type { ComputeOffer } from '../network/index.js'
import type { Placement } from '../workflow/index.js'

/** An offer as `node` reports it (schemas/node_info.json). */
export interface OfferJson {
  features: string[]
  schemes: string[]
  max_timeout_ms: number
  max_memory_bytes: number
  workers: number
  free_slots: number
  queued: number
  max_queued: number
  max_in_flight_per_peer: number
}

/** `dynamic.compute` of `node`: this node's offer and policies, and the offers of its peers. */
export interface ComputeInfoJson {
  accept: string
  placement: Placement
  verify: string
  serving: number
  offer: OfferJson | null
  peers: Record<string, { offer: OfferJson, age_ms: number, in_flight: number }>
}

function offerJson (o: ComputeOffer): OfferJson {
  return {
    features: o.features,
    schemes: o.schemes,
    max_timeout_ms: o.maxTimeoutMs,
    max_memory_bytes: o.maxMemoryBytes,
    workers: o.workers,
    free_slots: o.freeSlots,
    queued: o.queued,
    max_queued: o.maxQueued,
    max_in_flight_per_peer: o.maxInFlightPerPeer
  }
}

export function computeInfoJson (info: ComputeInfo, placement: Placement): ComputeInfoJson {
  const peers: ComputeInfoJson['peers'] = {}
  for (const p of info.peers) peers[p.peer] = { offer: offerJson(p.offer), age_ms: p.ageMs, in_flight: p.inFlight }
  return { accept: info.accept, placement, verify: info.verify, serving: info.serving, offer: info.offer === null ? null : offerJson(info.offer), peers }
}
