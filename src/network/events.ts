import { EventEmitter } from 'node:events'

/**
 * Fields of each network notification (Homestar's `subscribe_network_events` payloads, §9.5),
 * without the `timestamp` every notification also carries. Peer ids, multiaddrs and CIDs are
 * plain strings.
 */
export interface NetworkEventFields {
  new_listen_addr: { address: string, peer_id: string }
  connection_established: { address: string, peer_id: string }
  connection_closed: { address: string, peer_id: string }
  outgoing_connection_error: { error: string, peer_id: string | null }
  discovered_mdns: { peers: Record<string, string> }
  published_receipt_pubsub: { cid: string, ran: string }
  received_receipt_pubsub: { cid: string, publisher: string, ran: string }
  put_receipt_dht: { cid: string, ran: string }
  got_receipt_dht: { cid: string, publisher: string | null, ran: string }
  /** `cid` is the record key: the instruction CID. */
  receipt_quorum_success_dht: { cid: string, quorum: number }
  /** `cid` is the record key: the instruction CID. */
  receipt_quorum_failure_dht: { cid: string, connected_peer_count: number, quorum: number, stored_to_peers: string[] }
  /**
   * Not Homestar's: a peer vouched for a receipt (`cid`) that disagrees with the one this node
   * computed or admitted (`ours`) for the same instruction.
   */
  receipt_conflict: { cid: string, instruction: string, ours: string, publisher: string }
  /** Not Homestar's: this node sent a ready task to a peer to run. */
  task_dispatched: { instruction: string, peer_id: string, ran: string }
  /** Not Homestar's: a peer sent this node a task to run for it. */
  task_received: { instruction: string, peer_id: string, ran: string }
  /** Not Homestar's: a peer answered a task this node sent it (`ok`: with a successful receipt, before it is verified). */
  task_result_received: { instruction: string, ok: boolean, peer_id: string, ran: string }
}

export type NetworkEventType = keyof NetworkEventFields

/** `{ "<type>": { ...fields, timestamp } }` with the fields in lexicographic order. */
export type NetworkNotification = {
  [K in NetworkEventType]: { [P in K]: NetworkEventFields[K] & { timestamp: number } }
}[NetworkEventType]

export type NetworkNotificationListener = (notification: NetworkNotification) => void

/** Builds a notification: one key, fields sorted, `timestamp` in integer ms since the epoch. */
export function networkNotification<K extends NetworkEventType> (type: K, fields: NetworkEventFields[K], timestamp = Date.now()): NetworkNotification {
  const all: Record<string, unknown> = { ...fields, timestamp: Math.trunc(timestamp) }
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(all).sort()) sorted[key] = all[key]
  return { [type]: sorted } as unknown as NetworkNotification
}

/** The type of a notification (its only key). */
export function notificationType (notification: NetworkNotification): NetworkEventType {
  return Object.keys(notification)[0] as NetworkEventType
}

/** Fan-out of notifications to subscribers; a throwing listener does not affect the others. */
export class NetworkEvents {
  private readonly emitter = new EventEmitter()

  constructor (private readonly onListenerError: (err: unknown) => void = () => {}) {
    this.emitter.setMaxListeners(0)
  }

  /** Subscribe; returns the function that unsubscribes. */
  subscribe (listener: NetworkNotificationListener): () => void {
    const wrapped = (n: NetworkNotification): void => {
      try {
        listener(n)
      } catch (err) {
        this.onListenerError(err)
      }
    }
    this.emitter.on('notification', wrapped)
    return () => { this.emitter.off('notification', wrapped) }
  }

  emit<K extends NetworkEventType>(type: K, fields: NetworkEventFields[K]): void {
    this.emitter.emit('notification', networkNotification(type, fields))
  }

  listenerCount (): number {
    return this.emitter.listenerCount('notification')
  }
}
