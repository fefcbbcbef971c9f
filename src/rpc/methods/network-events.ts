import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import type { SubscriptionOptions } from '../notifications.js'

/**
 * `subscribe_network_events`: a notification per network event (schemas/network.json), in the
 * format the optional `options` param asks for (`[{"format": "json"}]`).
 */
export function subscribeNetworkEventsMethod (services: Pick<RpcServices, 'networkEvents'>): MethodDefinition<{ options?: Pick<SubscriptionOptions, 'format'> }, string> {
  return {
    name: 'subscribe_network_events',
    subscription: true,
    handler: (params, ctx) => {
      const sub = ctx.connection!.subscribe('subscribe_network_events', params.options?.format)
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
