import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { IpvmClient, RpcClientError } from '../../../src/client/index.js'
import { asCliError } from '../../../src/cli/shared.js'

const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise(resolve => s.close(resolve))
})

/** A WebSocket server on loopback that reads requests and never answers them. */
async function silentServer (): Promise<{ url: string, connected: Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  servers.push(wss)
  await once(wss, 'listening')
  const connected = once(wss, 'connection').then(([ws]) => ws as WebSocket)
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, connected }
}

describe('client: a connection that closes under a request', () => {
  it('rejects the request as a lost connection, not as an error answer of the node', async () => {
    const { url, connected } = await silentServer()
    const client = await IpvmClient.connect(url, { requestTimeoutMs: 30_000 })
    const pending = client.request('workflow_status', ['bafy']).catch((err: unknown) => err)
    const ws = await connected
    await once(ws, 'message')
    ws.terminate()
    const err = await pending
    expect(err).toBeInstanceOf(Error)
    expect(err).not.toBeInstanceOf(RpcClientError)
    expect((err as Error).message).toBe('connection closed')
    // which the CLI reports as the node lost (exit 4), not as an RPC error
    expect(asCliError(err)).toMatchObject({ code: 'CLI_NODE_LOST' })
    expect(client.isOpen).toBe(false)
  })
})
