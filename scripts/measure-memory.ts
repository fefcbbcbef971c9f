// The memory of `ipvm start` as a child process through a run of workflows: RSS (and its peak,
// the kernel's VmHWM) after start, after 300 one-task workflows, 96 ten-task workflows 32 at a
// time, 100 replays and a fan-out of independent tasks (default 10 000), then 2 s and 12 s later
// (idle Wasm workers stop after workflow.worker_idle_ms). Linux (/proc). Loopback, mDNS off.
//   npm run measure:memory -- [--fan-out 10000] [--entry bin/ipvm | dist/cli/main.js]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_ENTRY, startNode } from './start-node.js'
import { IpvmClient, collectRun } from '../src/client/index.js'

const { values } = parseArgs({
  options: {
    'fan-out': { type: 'string', default: '10000' },
    entry: { type: 'string', default: DEFAULT_ENTRY }
  }
})
const fanOut = Number(values['fan-out'])
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const port = await new Promise<number>(resolve => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address() as AddressInfo; s.close(() => resolve(port)) }) })
const dir = mkdtempSync(join(tmpdir(), 'ipvm-measure-'))
const child = startNode(values.entry, dir, port, { IPVM_NETWORK__MDNS: 'false', IPVM_RPC__MAX_REQUESTS_PER_SECOND: '0' })

function mem (): string {
  const s = readFileSync(`/proc/${child.pid}/status`, 'utf8')
  const mib = (k: string): string => (Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1]) / 1024).toFixed(1)
  return `RSS ${mib('VmRSS')} MiB (anon ${mib('RssAnon')}), peak ${mib('VmHWM')}, ${/Threads:\s+(\d+)/.exec(s)?.[1]} threads`
}

try {
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"health"}' })
      if (((await res.json()) as { result?: { starting?: string[] } }).result?.starting === undefined) break
    } catch { /* not listening yet */ }
    if (child.exitCode !== null) throw new Error('the node exited')
    await sleep(20)
  }
  await sleep(2000)
  console.log(`after start: ${mem()}`)
  const added = await (await fetch(`${url}/add`, { method: 'POST', body: readFileSync(new URL('../examples/math.wasm', import.meta.url)) })).json() as { cid: string }
  const task = (arg: number): object => ({ cause: null, meta: {}, prf: [], run: { input: { args: [arg], func: 'add_one' }, nnc: '', op: 'wasm/run', rsc: `ipfs://${added.cid}` } })
  const client = await IpvmClient.connect(`ws://127.0.0.1:${port}`)
  const run = async (workflow: object, name?: string): Promise<void> => {
    const r = await collectRun(await client.runWorkflow(workflow, name !== undefined ? { name } : {}), 600_000)
    if (r.status.status !== 'completed') throw new Error(`a run ended ${r.status.status}`)
  }
  for (let i = 0; i < 300; i++) await run({ tasks: [task(i)] })
  console.log(`300 one-task workflows: ${mem()}`)
  const wide = Array.from({ length: 96 }, (_, c) => ({ tasks: Array.from({ length: 10 }, (_, i) => task(1000 * c + i)) }))
  for (let b = 0; b < 3; b++) await Promise.all(wide.slice(32 * b, 32 * b + 32).map(async w => { await run(w) }))
  console.log(`96 ten-task workflows, 32 at a time: ${mem()}`)
  for (let i = 0; i < 100; i++) await run({ tasks: [task(i % 300)] }, `replay-${i}`)
  console.log(`100 replays: ${mem()}`)
  if (fanOut > 0) {
    await run({ tasks: Array.from({ length: fanOut }, (_, i) => task(100_000 + i)) })
    console.log(`a ${fanOut}-task fan-out: ${mem()}`)
  }
  await client.close()
  await sleep(2000)
  console.log(`2 s later: ${mem()}`)
  await sleep(10_000)
  console.log(`12 s later: ${mem()}`)
} finally {
  child.kill('SIGTERM')
  if (child.exitCode === null) await new Promise(resolve => child.once('exit', resolve))
  rmSync(dir, { recursive: true, force: true })
}
