import { IpvmNode } from '../../src/node.js'
import { silentLogger } from '../../src/util/logger.js'
import { tempDir, testConfig } from '../utils/node.js'

/** A node with `rpc.auth_token` set and its network off (startTestNode's client has no token). */
export async function startTokenNode (token: string, rpc: { max_frame_bytes?: number } = {}): Promise<{ node: IpvmNode, httpUrl: string, close: () => Promise<void> }> {
  const tmp = tempDir()
  const node = new IpvmNode({ config: testConfig(tmp.dir, { rpc: { auth_token: token, ...rpc }, network: { enable: false } }), logger: silentLogger() })
  try {
    await node.start()
  } catch (err) {
    tmp.remove()
    throw err
  }
  return {
    node,
    httpUrl: node.rpcUrl.replace(/^ws:/, 'http:'),
    close: async () => {
      await node.stop()
      tmp.remove()
    }
  }
}
