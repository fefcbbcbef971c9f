import { afterEach, describe, expect, it } from 'vitest'
import { startTestNode, tempDir } from '../../utils/node.js'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

describe('the node key', () => {
  it('is created on first start and the peer id survives a restart', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const first = await startTestNode({ dataDir: t.dir })
    const peerId = first.node.peerId
    await first.stop()
    const second = await startTestNode({ dataDir: t.dir })
    expect(second.node.peerId).toBe(peerId)
    expect((await second.client.node()).static.peer_id).toBe(peerId)
    await second.stop()
  })
})
