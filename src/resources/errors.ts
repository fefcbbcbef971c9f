import { IpvmError } from '../util/errors.js'

export const ResourceErrorCode = {
  /** No source had the resource (or one of its blocks); may succeed later. */
  UNAVAILABLE: 'RESOURCE_UNAVAILABLE',
  /** A fetched block does not match its hash. */
  CORRUPT: 'RESOURCE_CORRUPT',
  /** The resource URL names no CID. */
  URL_INVALID: 'RESOURCE_URL_INVALID',
  /** A CID whose hash function this node does not know. */
  UNSUPPORTED: 'RESOURCE_UNSUPPORTED',
  /** A `file://` or `http(s)://` resource outside what resources.allow_file_roots / allow_http_hosts allow. */
  FORBIDDEN: 'RESOURCE_FORBIDDEN',
  /** A `file://` or `http(s)://` resource larger than the node reads, or an `ipfs://` one of more blocks than it fetches. */
  TOO_LARGE: 'RESOURCE_TOO_LARGE'
} as const
export type ResourceErrorCode = typeof ResourceErrorCode[keyof typeof ResourceErrorCode]

export class ResourceError extends IpvmError<ResourceErrorCode> {
  /** A missing resource may turn up (a peer connects, Kubo gets it); the rest will not change. */
  readonly retryable: boolean
  constructor (code: ResourceErrorCode, message: string, data?: Record<string, unknown>, opts: { retryable?: boolean } = {}) {
    super(code, message, data)
    this.retryable = opts.retryable ?? code === ResourceErrorCode.UNAVAILABLE
  }
}
