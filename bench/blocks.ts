/**
 * Block exchange benchmark: `npm run bench:blocks -- [--sizes 5,50,200] [--holders N] [--json]`.
 * Holders run as `ipvm start` child processes on 127.0.0.1 and take each file through
 * `POST /add`; the fetching node runs in this process (store, libp2p, resource resolver, as
 * `ipvm start` wires them). For each size it times adding the file to an empty store and
 * reading it from there, then
 * fetching it from the holders over bitswap into an empty store (the blocks) and reading it,
 * with the CPU time this process and the holders spent.
 */
import '../src/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadavg } from 'node:os'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import { Network, homestarReceiptExchange } from '../src/network/index.js'
import { ResourceResolver } from '../src/resources/index.js'
import { Store, importFile } from '../src/store/index.js'
import { silentLogger } from '../src/util/logger.js'
import { tempDir } from '../test/utils/node.js'
import { portsWhenUp } from './child.js'

const MB = 1_000_000
const IPVM = fileURLToPath(new URL('../bin/ipvm', import.meta.url))

interface Holder { child: ChildProcess, httpUrl: string, multiaddr: string, dir: { dir: string, remove: () => void } }

async function startHolder (): Promise<Holder> {
  const dir = tempDir('ipvm-bench-holder-')
  const child = spawn(process.execPath, [IPVM, 'start', '--data', dir.dir, '--rpc-port', '0', '--metrics-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn'], {
    env: { ...process.env, IPVM_NETWORK__MDNS: 'false', IPVM_RPC__MAX_UPLOAD_BYTES: String(2 ** 31) },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const ports = await portsWhenUp(child, join(dir.dir, 'ports.json'), 'a holder', { intervalMs: 100 })
  return { child, dir, httpUrl: `http://${ports.rpc.host}:${ports.rpc.port}`, multiaddr: ports.listeners[0] }
}

/** CPU time (user + system) a process has used, in ms, from /proc; undefined elsewhere. */
function processCpuMs (pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

function holdersCpuMs (holders: Holder[]): number | undefined {
  let sum = 0
  for (const h of holders) {
    const ms = processCpuMs(h.child.pid)
    if (ms === undefined) return undefined
    sum += ms
  }
  return sum
}

async function stopHolder (h: Holder): Promise<void> {
  const exited = new Promise(resolve => h.child.once('exit', resolve))
  h.child.kill('SIGTERM')
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))])
  if (h.child.exitCode === null) h.child.kill('SIGKILL')
  h.dir.remove()
}

async function add (h: Holder, bytes: Uint8Array): Promise<string> {
  const res = await fetch(`${h.httpUrl}/add`, { method: 'POST', body: Buffer.from(bytes) })
  const body = await res.json() as { cid: string }
  if (res.status !== 200) throw new Error(`add failed: ${JSON.stringify(body)}`)
  return body.cid
}

/** A store, and with `peers` a libp2p node connected to them, behind a resolver that caches nothing. */
async function fetcher (peers: string[]): Promise<{ resolver: ResourceResolver, store: Store, close: () => Promise<void> }> {
  const dir = tempDir('ipvm-bench-fetcher-')
  const store = new Store({ dataDir: dir.dir }, { logger: silentLogger() })
  await store.start()
  let network: Network | undefined
  if (peers.length > 0) {
    network = new Network({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, peers }, {
      privateKey: await generateKeyPair('Ed25519'),
      logger: silentLogger(),
      receipts: homestarReceiptExchange(),
      receiptStore: store.receipts,
      blocks: store.blocks
    })
    await network.start()
    const deadline = Date.now() + 20_000
    while (Object.keys(network.connections()).length < peers.length) {
      if (Date.now() > deadline) throw new Error('could not connect to the holders')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  const resolver = new ResourceResolver({ cacheBytes: 0 }, { store, logger: silentLogger(), sources: network !== undefined ? [network.blockSource()] : [] })
  return {
    resolver,
    store,
    close: async () => {
      await network?.stop()
      await store.stop()
      dir.remove()
    }
  }
}

/** One file size: wall time and this process's CPU time of each step, holders' CPU time during the fetch. */
interface Row {
  sizeMb: number
  /** Adding the file to an empty store (`ipvm add`): what storing the blocks costs without a network. */
  add: { ms: number, cpuMs: number }
  /** Reading the file from a store that holds it. */
  local: { ms: number, cpuMs: number }
  /** Fetching the file from the holders into an empty store and reading it: `blocks` is the first part. */
  peers: { ms: number, cpuMs: number, blocks: { ms: number, cpuMs: number }, holdersCpuMs?: number }
}

async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number, cpuMs: number }> {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const value = await fn()
  const used = process.cpuUsage(cpu)
  return { value, ms: performance.now() - t0, cpuMs: (used.user + used.system) / 1000 }
}

function same (a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

async function main (): Promise<number> {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '5,50,200' }, holders: { type: 'string', default: '1' }, json: { type: 'boolean', default: false } } })
  const sizes = values.sizes.split(',').map(Number)
  const holderCount = Number(values.holders)
  if (sizes.some(s => !(s > 0)) || !(holderCount >= 1)) {
    process.stderr.write('usage: npm run bench:blocks -- [--sizes 5,50,200] [--holders 1] [--json]\n')
    return 2
  }
  const progress = (what: string): void => { process.stderr.write(`[bench:blocks] ${what}\n`) }
  const load0 = loadavg()[0]
  const holders: Holder[] = []
  const rows: Row[] = []
  try {
    progress(`starting ${holderCount} holder${holderCount === 1 ? '' : 's'}`)
    holders.push(...await Promise.all(Array.from({ length: holderCount }, startHolder)))
    for (const sizeMb of sizes) {
      const bytes = new Uint8Array(randomBytes(sizeMb * MB))
      const cids = await Promise.all(holders.map(async h => await add(h, bytes)))
      const url = `ipfs://${cids[0]}`

      const local = await fetcher([])
      try {
        const added = await timed(async () => await importFile(local.store.blocks, bytes))
        const read = await timed(async () => await local.resolver.fetch(url))
        if (!same(read.value, bytes)) throw new Error('the local read gave other bytes')
        progress(`${sizeMb} MB local: ${read.ms.toFixed(0)} ms`)
        const remote = await fetcher(holders.map(h => h.multiaddr))
        try {
          const holderCpu0 = holdersCpuMs(holders)
          const blocks = await timed(async () => await remote.resolver.prefetch(CID.parse(cids[0])))
          const holderCpu1 = holdersCpuMs(holders)
          const read2 = await timed(async () => await remote.resolver.fetch(url))
          if (!same(read2.value, bytes)) throw new Error('the fetch gave other bytes')
          const peers = { ms: blocks.ms + read2.ms, cpuMs: blocks.cpuMs + read2.cpuMs }
          progress(`${sizeMb} MB from ${holderCount} peer${holderCount === 1 ? '' : 's'}: ${peers.ms.toFixed(0)} ms (${blocks.value.fetched} blocks)`)
          rows.push({
            sizeMb,
            add: { ms: added.ms, cpuMs: added.cpuMs },
            local: { ms: read.ms, cpuMs: read.cpuMs },
            peers: {
              ...peers,
              blocks: { ms: blocks.ms, cpuMs: blocks.cpuMs },
              ...(holderCpu0 !== undefined && holderCpu1 !== undefined ? { holdersCpuMs: holderCpu1 - holderCpu0 } : {})
            }
          })
        } finally {
          await remote.close()
        }
      } finally {
        await local.close()
      }
    }
  } finally {
    await Promise.all(holders.map(stopHolder))
  }
  const report = { holders: holderCount, node: process.version, loadAverage1m: { start: load0, end: loadavg()[0] }, rows }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`)
  } else {
    process.stdout.write(`file from ${holderCount} holder${holderCount === 1 ? '' : 's'} on loopback (load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)})\n`)
    const rate = (mb: number, ms: number): string => `${(mb / (ms / 1000)).toFixed(0)} MB/s`
    const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
    process.stdout.write('size     local add            local read                  from peers                  of which the blocks  holders\n')
    process.stdout.write('         time     CPU         rate      time     CPU      rate      time     CPU      time     CPU         CPU\n')
    for (const r of rows) {
      const cells = [
        `${r.sizeMb} MB`.padEnd(9),
        secs(r.add.ms).padEnd(9), secs(r.add.cpuMs).padEnd(12),
        rate(r.sizeMb, r.local.ms).padEnd(10), secs(r.local.ms).padEnd(9), secs(r.local.cpuMs).padEnd(9),
        rate(r.sizeMb, r.peers.ms).padEnd(10), secs(r.peers.ms).padEnd(9), secs(r.peers.cpuMs).padEnd(9),
        secs(r.peers.blocks.ms).padEnd(9), secs(r.peers.blocks.cpuMs).padEnd(12),
        r.peers.holdersCpuMs === undefined ? '?' : secs(r.peers.holdersCpuMs)
      ]
      process.stdout.write(`${cells.join('')}\n`)
    }
  }
  return 0
}

process.exitCode = await main()
