import { request } from 'node:http'

export interface HttpAnswer { status: number, headers: Record<string, string | string[] | undefined>, text: string }

/**
 * One HTTP request on a connection of its own (no keep-alive agent), optionally from another
 * loopback address (127.0.0.2, …), which the node sees as another client.
 */
export async function httpOnce (url: string, opts: { method?: string, body?: string | Uint8Array, localAddress?: string, headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return await new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
      agent: false,
      headers: { ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers },
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {})
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
