/**
 * The hostile clients of `npm run load -- --hostile`: each from a loopback address of its
 * own (127.2.x.y), so the node sees them as clients of their own, as it would on a network.
 *
 * - flooders send batches of 100 requests, four frames in flight, as fast as they are answered;
 * - bombers cycle through requests built to cost the node as much as possible: a 50 000-task
 *   workflow, 10 000 invalid tasks, a 4 MiB run name, DAG-CBOR nested 3 500 deep, a batch of
 *   100 workflows of 100 duplicate tasks (6 MB), JSON nested a million deep, a 40 000-task
 *   `POST /ui/plan`; each must be refused with its error code;
 * - non-readers subscribe to a run whose receipts grow to 4 MiB (8 MiB of notifications) and
 *   never read;
 * - endless clients run a task that spins until its `meta.time` runs out, one after another.
 */
import { request } from 'node:http'
import WebSocket from 'ws'
import { encode } from '../src/ipld/index.js'

export interface HostileStats {
  /** Requests sent by flooders and bombers, answers received, and refusals by error code. */
  sent: number
  answered: number
  codes: Record<string, number>
  /** Answers that were not what the request should get (a bomb that was not refused as it should be). */
  unexpected: string[]
  /** Subscriptions the non-readers made. */
  nonReaderSubscriptions: number
  /** Endless tasks submitted and how their runs ended. */
  endlessRuns: number
  endlessOutcomes: Record<string, number>
}

export function emptyStats (): HostileStats {
  return { sent: 0, answered: 0, codes: {}, unexpected: [], nonReaderSubscriptions: 0, endlessRuns: 0, endlessOutcomes: {} }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** The n-th hostile address: 127.2.0.1, 127.2.0.2, … */
export function hostileAddress (n: number): string {
  return `127.2.${Math.floor(n / 250)}.${(n % 250) + 1}`
}

function frameText (data: WebSocket.RawData): string {
  return Buffer.isBuffer(data) ? data.toString() : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString()
}

function count (stats: HostileStats, code: string): void {
  stats.codes[code] = (stats.codes[code] ?? 0) + 1
}

/** The node's error code of an answer, or `ok`. */
function codeOf (answer: { result?: unknown, error?: { data?: { code?: string } } }): string {
  return answer.error === undefined ? 'ok' : answer.error.data?.code ?? `json-rpc ${JSON.stringify(answer.error)}`
}

async function open (url: string, address: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { localAddress: address, maxPayload: 512 * 1024 * 1024, perMessageDeflate: false })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  ws.on('error', () => {})
  return ws
}

/** Sends text and resolves with the next message (or null when the socket closes first). */
async function ask (ws: WebSocket, text: string): Promise<string | null> {
  return await new Promise(resolve => {
    const onMessage = (data: WebSocket.RawData): void => { cleanup(); resolve(frameText(data)) }
    const onClose = (): void => { cleanup(); resolve(null) }
    const cleanup = (): void => { ws.off('message', onMessage); ws.off('close', onClose) }
    ws.on('message', onMessage)
    ws.on('close', onClose)
    ws.send(text)
  })
}

/** Batches of 100 cheap requests, four frames in flight, until the deadline. */
export async function flooder (url: string, address: string, deadline: number, stats: HostileStats): Promise<void> {
  const ws = await open(url, address)
  const frame = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: i % 2 === 0 ? 'health' : 'node' })))
  let inFlight = 0
  await new Promise<void>(resolve => {
    const pump = (): void => {
      while (inFlight < 4 && performance.now() < deadline && ws.readyState === ws.OPEN) {
        ws.send(frame)
        inFlight++
        stats.sent += 100
      }
      if (inFlight === 0) resolve()
    }
    ws.on('message', data => {
      inFlight--
      const answers = JSON.parse(frameText(data)) as Array<{ result?: unknown, error?: { data?: { code?: string } } }>
      stats.answered += answers.length
      for (const a of answers) {
        const code = codeOf(a)
        if (code !== 'ok' && code !== 'RPC_RATE_LIMITED') stats.unexpected.push(`flood: ${code}`)
        count(stats, `flood ${code}`)
      }
      pump()
    })
    ws.on('close', () => resolve())
    pump()
  })
  ws.close()
}

interface Bomb { name: string, expect: string, send: (ws: WebSocket, httpUrl: string, address: string) => Promise<string[] | null> }

function tinyTask (i: number): object {
  return { run: { rsc: 'ipfs://x', op: 'wasm/run', input: { func: 'f', args: [i] }, nnc: '' }, meta: {}, prf: [] }
}

function runRequest (id: number, params: unknown): object {
  return { jsonrpc: '2.0', id, method: 'subscribe_run_workflow', params }
}

/** The bombs, built once (building them is the client's work, not the node's). */
export function buildBombs (missingRsc: string): Bomb[] {
  const wsBomb = (name: string, expect: string, text: string): Bomb => ({
    name,
    expect,
    send: async ws => {
      const answer = await ask(ws, text)
      if (answer === null) return null
      const parsed = JSON.parse(answer) as Parameters<typeof codeOf>[0] | Array<Parameters<typeof codeOf>[0]>
      return (Array.isArray(parsed) ? parsed : [parsed]).map(codeOf)
    }
  })
  const cborHead = encode({ name: 'x', workflow: 0 }).slice(0, -1)
  const deepCbor = new Uint8Array(cborHead.length + 3501)
  deepCbor.set(cborHead)
  deepCbor.fill(0x81, cborHead.length, cborHead.length + 3500)
  deepCbor[deepCbor.length - 1] = 1
  const badTask = { run: { rsc: 'ipfs://x', op: 'wasm/run', input: { func: 'f', args: Array.from({ length: 30 }, () => ({ 'await/ok': 1 })) }, nnc: '' }, meta: {}, prf: [] }
  const dupTask = (i: number): object => ({ cause: null, meta: { pad: 'p'.repeat(400) }, prf: [], run: { input: { args: [i], func: 'add_one' }, nnc: '', op: 'wasm/run', rsc: missingRsc } })
  const plan = JSON.stringify({ tasks: Array.from({ length: 40_000 }, (_, i) => tinyTask(i)) })
  return [
    wsBomb('50 000 tasks', 'WORKFLOW_TOO_LARGE', JSON.stringify(runRequest(1, [{ workflow: { tasks: Array.from({ length: 50_000 }, (_, i) => tinyTask(i)) } }]))),
    wsBomb('10 000 invalid tasks', 'RPC_INVALID_PARAMS', JSON.stringify(runRequest(2, [{ workflow: { tasks: Array.from({ length: 10_000 }, () => badTask) } }]))),
    wsBomb('4 MiB name', 'RPC_INVALID_PARAMS', JSON.stringify(runRequest(3, [{ name: 'n'.repeat(4 * 1024 * 1024), workflow: { tasks: [dupTask(0)] } }]))),
    wsBomb('DAG-CBOR 3 500 deep', 'RPC_JSON_TOO_DEEP', JSON.stringify(runRequest(4, [Array.from(deepCbor)]))),
    wsBomb('batch of 100 x 100 duplicate tasks', 'WORKFLOW_INVALID_DUPLICATE_TASK', JSON.stringify(Array.from({ length: 100 }, (_, i) => runRequest(i, [{ workflow: { tasks: Array.from({ length: 100 }, () => dupTask(i)) } }])))),
    wsBomb('JSON 1 000 000 deep', 'RPC_JSON_TOO_DEEP', '['.repeat(1_000_000)),
    {
      name: '/ui/plan of 40 000 tasks',
      expect: 'WORKFLOW_TOO_LARGE',
      send: async (_ws, httpUrl, address) => await new Promise(resolve => {
        const req = request(`${httpUrl}/ui/plan`, { method: 'POST', agent: false, localAddress: address }, res => {
          const chunks: Buffer[] = []
          res.on('data', (d: Buffer) => chunks.push(d))
          res.on('end', () => { try { resolve([codeOf(JSON.parse(Buffer.concat(chunks).toString()) as Parameters<typeof codeOf>[0])]) } catch { resolve(null) } })
        })
        req.on('error', () => resolve(null))
        req.end(plan)
      })
    }
  ]
}

/** Sends the bombs one after another, each once its answer is in, until the deadline. */
export async function bomber (url: string, httpUrl: string, address: string, bombs: Bomb[], deadline: number, stats: HostileStats): Promise<void> {
  let ws = await open(url, address)
  for (let i = 0; performance.now() < deadline; i++) {
    const bomb = bombs[i % bombs.length]
    if (ws.readyState !== ws.OPEN) ws = await open(url, address)
    stats.sent++
    const codes = await bomb.send(ws, httpUrl, address)
    if (codes === null) {
      stats.unexpected.push(`${bomb.name}: no answer`)
      continue
    }
    stats.answered++
    for (const code of codes) {
      count(stats, `bomb ${code}`)
      // a bomb that was refused for the client's rate is also refused
      if (code !== bomb.expect && code !== 'RPC_RATE_LIMITED') stats.unexpected.push(`${bomb.name}: ${code}`)
    }
  }
  ws.close()
}

/**
 * Subscribes to `workflow` and never reads, until the deadline. (A client that does not read
 * does not see the node close its connection either: the node counts those it drops.)
 */
export async function nonReader (url: string, address: string, workflow: object, deadline: number, stats: HostileStats): Promise<void> {
  const ws = await open(url, address)
  const answer = await ask(ws, JSON.stringify(runRequest(1, [{ workflow }])))
  if (answer !== null && typeof (JSON.parse(answer) as { result?: unknown }).result === 'string') stats.nonReaderSubscriptions++
  ;(ws as unknown as { _socket: { pause: () => void } })._socket.pause()
  await sleep(Math.max(0, deadline - performance.now()))
  ws.terminate()
}

/** Runs a task that spins until its `meta.time` (ms), again and again, until the deadline. */
export async function endless (url: string, address: string, rsc: string, timeMs: number, deadline: number, stats: HostileStats): Promise<void> {
  const ws = await open(url, address)
  for (let i = 0; performance.now() < deadline; i++) {
    const task = { cause: null, meta: { time: timeMs }, prf: [], run: { input: { args: [], func: 'spin' }, nnc: '', op: 'wasm/run', rsc } }
    // a distinct workflow each time (a field outside the instruction changes nothing), so it runs again
    const workflow = { tasks: [{ ...task, meta: { time: timeMs, round: `${address} ${i}` } }] }
    // status notifications, to see the run end (Homestar's clients, the default, get receipts only)
    const answer = await ask(ws, JSON.stringify(runRequest(i, [{ workflow }, { format: 'json', status: true }])))
    if (answer === null) break
    const sub = (JSON.parse(answer) as { result?: unknown }).result
    if (typeof sub !== 'string') {
      count(stats, `endless ${codeOf(JSON.parse(answer) as Parameters<typeof codeOf>[0])}`)
      await sleep(100)
      continue
    }
    stats.endlessRuns++
    const status = await new Promise<string>(resolve => {
      const onMessage = (data: WebSocket.RawData): void => {
        const n = JSON.parse(frameText(data)) as { params?: { subscription?: string, result?: { workflow_status?: { final?: boolean, status?: string } } } }
        const s = n.params?.result?.workflow_status
        if (n.params?.subscription === sub && s?.final === true) {
          ws.off('message', onMessage)
          resolve(s.status ?? '?')
        }
      }
      ws.on('message', onMessage)
      ws.once('close', () => resolve('closed'))
    })
    stats.endlessOutcomes[status] = (stats.endlessOutcomes[status] ?? 0) + 1
    if (status === 'closed') break
  }
  ws.close()
}
