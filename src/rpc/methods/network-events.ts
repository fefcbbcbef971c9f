import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'

/** `subscribe_network_events`: a notification per network event (schemas/network.json). */
export function subscribeNetworkEventsMethod (services: Pick<RpcServices, 'networkEvents'>): MethodDefinition<Record<string, never>, string> {
  return {
    name: 'subscribe_network_events',
    subscription: true,
    handler: (_params, ctx) => {
      const sub = ctx.connection!.subscribe('subscribe_network_events')
      const off = services.networkEvents(event => sub.notify({ json: event }))
      sub.whenClosed(off)
      return sub.id
    }
  }
}

export function unsubscribeNetworkEventsMethod (): MethodDefinition<{ subscription: string }, boolean> {
  return {
    name: 'unsubscribe_network_events',
    subscription: true,
    handler: (params, ctx) => ctx.connection?.unsubscribe('subscribe_network_events', params.subscription) ?? false
  }
}
