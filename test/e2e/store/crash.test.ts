import * as dagCbor from '@ipld/dag-cbor'
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket, Store } from '../../../src/store/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { checkConsistency } from './consistency.js'
import { crashReceipt, crashWorkflow } from './crash-data.js'
import { createTestStore, equalBytes, makeReceipt, tempDir, withRawLevel } from '../../utils/store.js'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '..', '..', '..')
const ROUNDS = 3
const ACK_WAIT_MS = 20_000

interface RoundResult { acked: number[], exitSignal: NodeJS.Signals | null }

/** Runs the writer until it has acknowledged `killAfter` puts, then SIGKILLs it. */
async function runWriter (dataDir: string, round: string, killAfter: number): Promise<RoundResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'crash-writer.ts'), dataDir, round], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const acked: number[] = []
  let stderr = ''
  let buffer = ''
  let killed = false
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  return await new Promise<RoundResult>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`writer too slow: ${acked.length} acks; ${stderr}`)) }, ACK_WAIT_MS)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)))
      }
      if (!killed && acked.length >= killAfter) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (!killed) { reject(new Error(`writer exited by itself (${String(code)}): ${stderr}`)); return }
      resolve({ acked, exitSignal: signal })
    })
  })
}

describe('crash safety of receipt writes', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeAll(async () => { ({ dir, cleanup } = await tempDir()) })
  afterAll(async () => { await cleanup() })

  it(`keeps every acknowledged receipt, whole, across ${ROUNDS} SIGKILLs mid-stream`, async () => {
    const allAcked = new Map<string, number[]>()
    for (let round = 0; round < ROUNDS; round++) {
      const tag = `r${round}`
      const killAfter = 60 + Math.floor(Math.random() * 140)
      const result = await runWriter(dir, tag, killAfter)
      expect(result.exitSignal).toBe('SIGKILL')
      expect(result.acked.length).toBeGreaterThanOrEqual(killAfter)
      allAcked.set(tag, result.acked)

      const store = new Store({ dataDir: dir }, { logger: silentLogger() })
      await store.start()
      try {
        // every receipt acknowledged in any round so far is present, whole and indexed
        for (const [t, acked] of allAcked) {
          const wf = crashWorkflow(t).cid
          const filed = new Set((await store.receipts.listForWorkflow(wf)).map(c => c.toString()))
          for (const i of acked) {
            const r = crashReceipt(t, i)
            const bytes = await store.receipts.get(r.cid)
            expect(bytes !== undefined && equalBytes(bytes, r.bytes)).toBe(true)
            expect(dagCbor.decode<{ out: unknown[] }>(bytes as Uint8Array).out[0]).toBe(i % 5 === 4 ? 'error' : 'ok')
            expect((await store.receipts.listByInstruction(r.instruction)).some(e => e.cid.equals(r.cid))).toBe(true)
            expect(filed.has(r.cid.toString())).toBe(true)
          }
        }
        // receipts of this round that landed without an ack are whole too
        const wf = crashWorkflow(tag).cid
        const filed = new Set((await store.receipts.listForWorkflow(wf)).map(c => c.toString()))
        // the writer keeps 16 puts in flight, so nothing beyond this index was ever started
        const bound = Math.max(...result.acked, result.acked.length) + 64
        let unacked = 0
        for (let i = 0; i <= bound; i++) {
          const r = crashReceipt(tag, i)
          if (!filed.has(r.cid.toString())) continue
          if (!result.acked.includes(i)) unacked++
          expect(await store.receipts.has(r.cid)).toBe(true)
          expect((await store.receipts.listByInstruction(r.instruction)).length).toBeGreaterThan(0)
        }
        expect(filed.size).toBe(result.acked.length + unacked)
        const run = await store.workflows.get(wf)
        expect(run?.progress).toBe(filed.size)
        expect(equalBytes(await store.workflows.getBody(wf) as Uint8Array, crashWorkflow(tag).bytes)).toBe(true)
      } finally {
        await store.stop()
      }
      const { problems, counts } = await withRawLevel(store, checkConsistency)
      expect(problems).toEqual([])
      expect(counts.receipts).toBeGreaterThan(0)
    }
  }, 90_000)

  it('the consistency check itself notices a torn record', async () => {
    const { store, close } = await createTestStore()
    try {
      const wf = crashWorkflow('torn').cid
      const r = makeReceipt('torn', 1)
      await store.receipts.put({ ...r, workflow: wf })
      await store.stop()
      expect((await withRawLevel(store, checkConsistency)).problems).toEqual([])
      await withRawLevel(store, async db => {
        await db.del(Uint8Array.from([Bucket.receiptByInstruction, ...r.instruction.bytes, ...r.cid.bytes]))
      })
      expect((await withRawLevel(store, checkConsistency)).problems).toEqual([
        `receipt ${r.cid.toString()} has no instruction index entry`,
        `first-ok entry of ${r.instruction.toString()} is not its first ok receipt`,
        'first-ok entries 1 != instructions with an ok receipt 0'
      ])
    } finally {
      await close()
    }
  })
})
