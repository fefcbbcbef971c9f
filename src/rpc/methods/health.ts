import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'

/** `{"healthy": true}` when the store answers; an error saying why otherwise. */
export function healthMethod (services: Pick<RpcServices, 'checkHealth'>): MethodDefinition<Record<string, never>, { healthy: true }> {
  return {
    name: 'health',
    handler: async () => {
      await services.checkHealth()
      return { healthy: true }
    }
  }
}
