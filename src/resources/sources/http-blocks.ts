import type { CID } from 'multiformats/cid'
import { readBody } from '../url.js'
import type { BlockSource } from './block-source.js'

/** The largest block taken from an HTTP source (IPFS blocks are at most 2 MiB by convention). */
const MAX_BLOCK_BYTES = 4 * 1024 * 1024

/** A block source over HTTP: one request a block, bounded in time and size. */
export abstract class HttpBlockSource implements BlockSource {
  abstract readonly name: string
  protected readonly base: string
  private readonly timeoutMs: number

  constructor (base: string, timeoutMs = 30_000) {
    this.base = base.replace(/\/+$/, '')
    this.timeoutMs = timeoutMs
  }

  protected abstract request (cid: CID, signal: AbortSignal): Promise<Response>

  async getBlock (cid: CID, opts: { signal?: AbortSignal }): Promise<Uint8Array> {
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(opts.signal !== undefined ? [opts.signal] : [])]
    const res = await this.request(cid, AbortSignal.any(signals))
    if (!res.ok) throw new Error(`HTTP ${res.status} ${await res.text().catch(() => '')}`.trim())
    return await readBody(res, cid.toString(), MAX_BLOCK_BYTES)
  }
}
