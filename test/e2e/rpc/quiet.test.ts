import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { OpenRpc, Router, RpcServer } from '../../../src/rpc/index.js'
import { silentLogger } from '../../../src/util/logger.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function server (): Promise<RpcServer> {
  const router = new Router({}, { openrpc: new OpenRpc({ openrpc: '1.2.6', info: { title: 'test', version: '0' }, methods: [] }, {}), logger: silentLogger() })
  const s = new RpcServer({ host: '127.0.0.1', port: 0 }, { router, logger: silentLogger() })
  await s.start()
  cleanups.push(async () => { await s.stop() })
  return s
}

/** Opens a TCP connection to the server and closes it once it is accepted. */
async function knock (port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve() })
    socket.once('error', reject)
  })
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

// a node that has just started waits for this before it loads libp2p (src/node/node.ts)
describe('RpcServer.whenQuiet', () => {
  it('waits while connections keep being opened, and resolves once they stop', async () => {
    const s = await server()
    let quiet = false
    const waited = s.whenQuiet(2000, 60_000).then(() => { quiet = true })
    for (let i = 0; i < 10; i++) {
      await knock(s.port)
      expect(quiet, `after connection ${i}`).toBe(false)
      await sleep(20)
    }
    await waited
    expect(quiet).toBe(true)
  })

  it('resolves after maxMs even while connections keep coming', async () => {
    const s = await server()
    let quiet = false
    const waited = s.whenQuiet(60_000, 200).then(() => { quiet = true })
    let knocks = 0
    while (!quiet && knocks < 500) {
      await knock(s.port)
      knocks++
      await sleep(10)
    }
    await waited
    expect(quiet).toBe(true)
    expect(knocks).toBeLessThan(500)
  })
})
