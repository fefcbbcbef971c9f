import type { Connection } from './connection.js'

/** What a method handler knows about the request it serves. */
export interface RequestContext {
  transport: 'ws' | 'http'
  /** The WebSocket connection; absent over HTTP. */
  connection?: Connection
  /** The text of the request as the client sent it (its span of a batch), for methods that must re-read it losslessly. */
  raw?: string
  /** The id and method of the request being served (set per request, also inside a batch). */
  id?: string | number | null
  method?: string
}
