import { WebSocketServer, WebSocket } from 'ws'
import { buildTestCoreModule } from '../test/utils/wasm.js'
import { frameText } from '../test/utils/ws.js'
import { measureCalls, summarize, type LatencySummary } from './stats.js'

export interface RateResult {
  perSec: number
  latency: LatencySummary
}

export interface EchoBaseline {
  sequential: RateResult
  concurrent: RateResult
}

/**
 * Round trips of a health-sized JSON-RPC frame through a bare `ws` server on 127.0.0.1 that
 * echoes every frame: the ceiling of any request/response over one WebSocket here. The
 * client parses each reply, as the node's client does. The server runs in this process, or
 * at `url` (a process of its own, `spawnEcho`, when the node runs in one too).
 */
export async function wsEchoBaseline (sequential: number, concurrent: number, inFlight: number, url?: string): Promise<EchoBaseline> {
  let server: WebSocketServer | undefined
  if (url === undefined) {
    const local = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
    server = local
    await new Promise<void>((resolve, reject) => { local.once('listening', resolve); local.once('error', reject) })
    local.on('connection', ws => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
  }
  const link = await openRoundTrips(url ?? `ws://127.0.0.1:${(server?.address() as { port: number }).port}`)
  let id = 0
  const roundTrip = async (): Promise<void> => {
    const reply = await link.roundTrip(`{"jsonrpc":"2.0","id":${++id},"method":"health"}`) as { id?: unknown }
    if (typeof reply.id !== 'number') throw new Error('echo lost its id')
  }
  try {
    await measureCalls(10_000, 1, roundTrip)
    const seq = await measureCalls(sequential, 1, roundTrip)
    const conc = await measureCalls(concurrent, inFlight, roundTrip)
    return { sequential: { perSec: seq.perSec, latency: seq.latency }, concurrent: { perSec: conc.perSec, latency: conc.latency } }
  } finally {
    link.close()
    if (server !== undefined) await new Promise<void>(resolve => server.close(() => resolve()))
  }
}

/** A bare `ws` echo server in this process on 127.0.0.1 (the in-process mode's baseline). */
export async function startLocalEcho (): Promise<{ url: string, stop: () => Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject) })
  server.on('connection', ws => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`, stop: async () => await new Promise<void>(resolve => server.close(() => resolve())) }
}

/**
 * The thinnest client of one WebSocket: sends a text frame, resolves with the next reply
 * parsed (replies are matched first in, first out: the echo and the node both answer a
 * connection's frames in order). The ws echo baseline and the node's `health` go through it,
 * so the two differ only by the server.
 */
export async function openRoundTrips (url: string): Promise<{ roundTrip: (text: string) => Promise<unknown>, close: () => void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  ;(ws as unknown as { _socket?: { setNoDelay?: (v: boolean) => void } })._socket?.setNoDelay?.(true)
  const waiting: Array<(reply: unknown) => void> = []
  ws.on('message', data => { waiting.shift()?.(JSON.parse(frameText(data))) })
  return {
    roundTrip: async text => await new Promise<unknown>(resolve => {
      waiting.push(resolve)
      ws.send(text)
    }),
    close: () => ws.terminate()
  }
}

/**
 * `add_one` of the test core module (built with wabt) called in a loop on the main thread,
 * each call taking the previous result: the cost of a bare Wasm call.
 */
export async function wasmCallBaseline (calls: number): Promise<{ perSec: number, nsPerCall: number }> {
  const bytes = await buildTestCoreModule()
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>)
  const addOne = instance.exports.add_one as (a: number) => number
  let x = 0
  for (let i = 0; i < 100_000; i++) x = addOne(x)
  if (x !== 100_000) throw new Error(`add_one warm-up gave ${x}`)
  x = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) x = addOne(x)
  const ns = Number(process.hrtime.bigint() - t0)
  if (x !== (calls | 0)) throw new Error(`add_one gave ${x} after ${calls} calls`)
  return { perSec: calls / (ns / 1e9), nsPerCall: ns / Math.max(1, calls) }
}

/** What `measureCalls` gives for one block of calls. */
export type Measured = Awaited<ReturnType<typeof measureCalls>>

/**
 * `total` calls of each of `calls`, `inFlight` at a time, after `warmUp` of each: they take
 * turns in `blocks` blocks (the first, the second…, the first, the second…), so all see the
 * same load on the machine, and each rate is its calls over the sum of its blocks' wall time.
 * `watch` runs each block of the call at `index` (a load probe around it).
 */
export async function inTurns (calls: ReadonlyArray<() => Promise<void>>, total: number, inFlight: number, opts: { warmUp: number, blocks: number, watch?: (index: number, block: () => Promise<Measured>) => Promise<Measured> }): Promise<RateResult[]> {
  const watch = opts.watch ?? (async (_index, block) => await block())
  for (const call of calls) await measureCalls(opts.warmUp, inFlight, call)
  const block = Math.max(1, Math.ceil(total / opts.blocks))
  const samples = calls.map(() => [] as number[])
  const wall = calls.map(() => 0)
  for (let done = 0; done < total; done += block) {
    const n = Math.min(block, total - done)
    for (const [i, call] of calls.entries()) {
      const r = await watch(i, async () => await measureCalls(n, inFlight, call))
      wall[i] += r.wallMs
      samples[i].push(...r.samples)
    }
  }
  return calls.map((_, i) => ({ perSec: samples[i].length / (wall[i] / 1000), latency: summarize(samples[i]) }))
}

/**
 * `total` calls of `call` and as many round trips to the ws echo at `echoUrl`, in turns
 * (`inTurns`: echo, call, echo, call…). `watch` runs each block of calls.
 */
export async function echoInTurns (echoUrl: string, call: () => Promise<void>, total: number, inFlight: number, opts: { warmUp: number, blocks: number, watch?: (block: () => Promise<Measured>) => Promise<Measured> }): Promise<{ call: RateResult, echo: RateResult }> {
  const echo = await openRoundTrips(echoUrl)
  let id = 0
  const echoed = async (): Promise<void> => {
    const r = await echo.roundTrip(`{"jsonrpc":"2.0","id":${++id},"method":"health"}`) as { id?: unknown }
    if (typeof r.id !== 'number') throw new Error('echo lost its id')
  }
  const watch = opts.watch ?? (async block => await block())
  try {
    // only the call's blocks are watched, not the echo's
    const [e, c] = await inTurns([echoed, call], total, inFlight, { warmUp: opts.warmUp, blocks: opts.blocks, watch: async (i, block) => i === 1 ? await watch(block) : await block() })
    return { call: c, echo: e }
  } finally {
    echo.close()
  }
}
