import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import { andThen } from '../../util/maybe.js'

/**
 * `{"healthy": true}` when the store answers (Homestar's answer), with `starting: [part, …]`
 * while parts of the node are still starting; an error saying why otherwise.
 */
export function healthMethod (services: Pick<RpcServices, 'checkHealth' | 'startingParts'>): MethodDefinition<Record<string, never>, { healthy: true, starting?: string[] }> {
  return {
    name: 'health',
    // answered at once when the store's health is known without a read (most probes)
    handler: () => andThen(services.checkHealth(), () => {
      const starting = services.startingParts?.() ?? []
      return starting.length > 0 ? { healthy: true as const, starting } : { healthy: true as const }
    })
  }
}
