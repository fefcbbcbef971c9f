import type { Connection } from './connection.js'
import type { TokenBucket } from './limits.js'

/** What a method handler knows about the request it serves. */
export interface RequestContext {
  transport: 'ws' | 'http'
  /** The WebSocket connection; absent over HTTP. */
  connection?: Connection
  /** The text of the frame or body the request came in, for methods that must re-read it losslessly. */
  raw?: string
  /** The id and method of the request being served (set per request, also inside a batch). */
  id?: string | number | null
  method?: string
  /** The request budget of the client (connection) the message came from; each request takes a token. */
  rate?: TokenBucket
}
