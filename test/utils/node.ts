import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type PartialConfig } from '../../src/config/index.js'
import { IpvmNode, type NodeInit } from '../../src/node/index.js'
import { IpvmClient } from '../../src/client/index.js'
import { silentLogger, type Logger } from '../../src/util/logger.js'

export function tempDir (prefix = 'ipvm-test-'): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Settings for a node that stays on loopback with free ports, no mDNS and no peers. */
export function testConfig (dataDir: string, overrides: PartialConfig = {}): ReturnType<typeof loadConfig> {
  const base: PartialConfig = {
    node: { data_dir: dataDir, log_level: 'silent' },
    rpc: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    network: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false },
    workflow: { retry_initial_delay_ms: 20, retry_max_delay_ms: 200 }
  }
  const merged: PartialConfig = { ...base }
  for (const [section, values] of Object.entries(overrides)) {
    (merged as Record<string, unknown>)[section] = { ...(base as Record<string, object>)[section], ...values }
  }
  return loadConfig({ flags: merged })
}

export interface TestNode {
  node: IpvmNode
  client: IpvmClient
  dataDir: string
  url: string
  httpUrl: string
  /** Stops the node (idempotent) without removing the data folder. */
  stop: () => Promise<void>
  /** Stops the node and removes its data folder. */
  close: () => Promise<void>
}

/** A real node on 127.0.0.1 with port 0 and a temp data dir, without a client (e.g. for a node that needs a token). */
export async function startBareNode (config: PartialConfig = {}, logger: Logger = silentLogger()): Promise<{ node: IpvmNode, httpUrl: string, close: () => Promise<void> }> {
  const tmp = tempDir()
  const node = new IpvmNode({ config: testConfig(tmp.dir, config), logger })
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

/** A real node on 127.0.0.1 with port 0 and a temp data dir, plus a connected client. */
export async function startTestNode (opts: { dataDir?: string, config?: PartialConfig, testFaults?: NodeInit['testFaults'] } = {}): Promise<TestNode> {
  const tmp = opts.dataDir === undefined ? tempDir() : undefined
  const dataDir = opts.dataDir ?? tmp!.dir
  const node = new IpvmNode({ config: testConfig(dataDir, opts.config), logger: silentLogger(), validateResults: true, ...(opts.testFaults !== undefined ? { testFaults: opts.testFaults } : {}) })
  await node.start()
  const url = node.rpcUrl
  const client = await IpvmClient.connect(url)
  const stop = async (): Promise<void> => {
    await client.close()
    await node.stop()
  }
  return {
    node,
    client,
    dataDir,
    url,
    httpUrl: url.replace(/^ws:/, 'http:'),
    stop,
    close: async () => {
      await stop()
      tmp?.remove()
    }
  }
}
