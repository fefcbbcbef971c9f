import { spawn, type ChildProcess } from 'node:child_process'
import { IpvmNode } from '../src/node/index.js'
import { IpvmClient } from '../src/client/index.js'
import { silentLogger } from '../src/util/logger.js'
import { tempDir, testConfig } from '../test/utils/node.js'
import { waitUntil } from '../test/utils/wait.js'
import { identity, type Identity } from './cluster.js'
import { portsWhenUp } from './child.js'

/** An executor: an `ipvm start` child process on 127.0.0.1 with its own data folder. */
export interface Executor {
  id: Identity
  child: ChildProcess
  multiaddr: string
  client: IpvmClient
  httpUrl: string
  stop: () => Promise<void>
}

/**
 * Starts an executor that takes tasks from the `requesters` (by peer id) at most `cap` at a
 * time each (`compute.max_in_flight_per_peer`).
 */
export async function startExecutor (cli: string, requesters: string[], cap: number): Promise<Executor> {
  const id = await identity()
  const dir = tempDir('ipvm-bench-exec-')
  const child = spawn(process.execPath, [cli, 'start', '--data', dir.dir, '--rpc-port', '0', '--metrics-port', '0', '--log-level', 'error'], {
    env: {
      ...process.env,
      IPVM_NODE__KEY_SEED: id.seed,
      IPVM_NETWORK__LISTEN: '/ip4/127.0.0.1/tcp/0',
      IPVM_NETWORK__MDNS: 'false',
      IPVM_NETWORK__TRUSTED_PEERS: JSON.stringify(requesters),
      IPVM_NETWORK__RECEIPT_QUORUM: '1',
      IPVM_COMPUTE__MAX_IN_FLIGHT_PER_PEER: String(cap),
      IPVM_RPC__MAX_REQUESTS_PER_SECOND: '0'
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const ports = await portsWhenUp(child, `${dir.dir}/ports.json`, 'an executor', { intervalMs: 50 })
  const client = await IpvmClient.connect(`ws://127.0.0.1:${ports.rpc.port}`)
  return {
    id,
    child,
    multiaddr: ports.listeners[0],
    client,
    httpUrl: `http://127.0.0.1:${ports.rpc.port}`,
    stop: async () => {
      await client.close()
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      dir.remove()
    }
  }
}

/** The requester: a node in this process that dials the executors (so it trusts them), at most `concurrency` tasks in flight. */
export interface Requester {
  node: IpvmNode
  client: IpvmClient
  httpUrl: string
  close: () => Promise<void>
}

export async function startRequester (id: Identity, executors: Executor[], concurrency: number): Promise<Requester> {
  const dir = tempDir('ipvm-bench-req-')
  const config = testConfig(dir.dir, {
    node: { key_seed: id.seed },
    rpc: { max_requests_per_second: 0 },
    // no DHT lookups at a run's start (peers are still asked over the receipt exchange): they are a cost of the run, not of dispatch
    network: { peers: executors.map(e => e.multiaddr), receipt_quorum: 1, dht_timeout_ms: 0, enable: true },
    workflow: { concurrency, max_queued_runs: 1024 }
  })
  const node = new IpvmNode({ config, logger: silentLogger() })
  await node.start()
  const client = await IpvmClient.connect(node.rpcUrl)
  await waitUntil(async () => {
    const info = await client.request<{ dynamic: { compute?: { peers: Record<string, unknown> } } }>('node')
    return Object.keys(info.dynamic.compute?.peers ?? {}).length >= executors.length
  }, 60_000, 'the executors\' offers', 100)
  return {
    node,
    client,
    httpUrl: node.rpcUrl.replace(/^ws:/, 'http:'),
    close: async () => {
      await client.close()
      await node.stop()
      dir.remove()
    }
  }
}
