import type { CID } from 'multiformats/cid'
import { HttpBlockSource } from './http-blocks.js'

/**
 * An IPFS HTTP gateway in its trustless form (`GET /ipfs/<cid>?format=raw`, answered with
 * `application/vnd.ipld.raw`): one block at a time, checked against its hash by the resolver,
 * so the gateway need not be trusted.
 */
export class GatewayBlockSource extends HttpBlockSource {
  readonly name = 'gateway'

  protected async request (cid: CID, signal: AbortSignal): Promise<Response> {
    return await fetch(`${this.base}/ipfs/${cid.toString()}?format=raw`, { headers: { accept: 'application/vnd.ipld.raw' }, signal })
  }
}
