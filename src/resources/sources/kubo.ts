import type { CID } from 'multiformats/cid'
import { HttpBlockSource } from './http-blocks.js'

/**
 * Kubo's HTTP API (`--kubo-api`): `POST /api/v0/block/get?arg=<cid>`. Blocks are checked
 * against their hash by the resolver.
 */
export class KuboBlockSource extends HttpBlockSource {
  readonly name = 'kubo'

  protected async request (cid: CID, signal: AbortSignal): Promise<Response> {
    return await fetch(`${this.base}/api/v0/block/get?arg=${cid.toString()}`, { method: 'POST', signal })
  }
}
