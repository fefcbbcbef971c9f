import { readFileSync, readdirSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { parseJson, parseWorkflow } from '../../../src/ipld/index.js'
import { fileCid } from '../../../src/cli/authoring.js'
import { buildExampleWasm, buildExampleWorkflows } from '../../../examples/wasm/build.js'
import { runCli } from '../../utils/cli.js'
import { startTestNode, tempDir } from '../../utils/node.js'

const EXAMPLES = new URL('../../../examples/', import.meta.url)
const path = (name: string): string => new URL(name, EXAMPLES).pathname

/**
 * Every example with its documented result (README, "Examples"): the workflow CID,
 * the exit code of `ipvm run`, and each task's output in the order the lines are printed
 * for a chain (for parallel tasks, as a set).
 */
const EXPECTED: Record<string, { cid: string, exit: number, outputs: string[], status: string }> = {
  'add-one.json': { cid: 'bafyrmiedrz6t3iqafc3u6yq2j62ptdcgicgbfmejdp3rejownwonttmyvi', exit: 0, status: 'completed', outputs: ['add_one 42'] },
  'chain.json': { cid: 'bafyrmiewiwwpvzpr5cuonjgoni546dbfowpbynzhws6jthiugjjcf7wnwu', exit: 0, status: 'completed', outputs: ['add_one 2', 'double 4', 'add_one 5'] },
  'fan-out.json': { cid: 'bafyrmieff2hm7vqudck54ran5vw4pw6d6dpjmdwaoem6fctp2jhgpeafo4', exit: 0, status: 'completed', outputs: ['add_one 5', 'double 10', 'add_one 6', 'add 16'] },
  'image.json': { cid: 'bafyrmiftnlposbk7vhscjb6muuejtvrkbj2r7ffx3ywsximswywn7iuivi', exit: 0, status: 'completed', outputs: ['grayscale {"/":{"bytes":"TJUc/wCA4rI"}}', 'threshold {"/":{"bytes":"AP8A/wD///8"}}', 'brightness 130'] },
  'retry.json': { cid: 'bafyrmifyep3dosmbjzucvvh6c6jqlgkuhyibwa7e6kmlfpr6cyuvaw4s2e', exit: 1, status: 'failed', outputs: ['add_one 2', 'divide error'] },
  'sleep.json': { cid: 'bafyrmiftz26xgm5bjilownsha5oqn2lmemtd5k4j3fio3fga4mlhlfe5vu', exit: 0, status: 'completed', outputs: ['add_one 2', 'ipvm/sleep 2', 'double 4'] },
  'authoring.json': { cid: 'bafyrmicldjdnsyt6taty266lxs67mihtlmjl3p5m6njzzvvt4rohz3hpqy', exit: 0, status: 'completed', outputs: ['add_one 21', 'add_one 21', 'double 42', 'add 63'] }
}

/** `ok  <op>  <value>  <receipt cid>` lines as `<op> <value>` (`<op> error` for failures). */
function outputs (stdout: string): string[] {
  return stdout.split('\n').flatMap(line => {
    const ok = /^ok\s+(?:\S+ \()?([\w/]+)\)?\s+(.+?)\s+bafyrmi\w+/.exec(line)
    if (ok !== null) return [`${ok[1]} ${ok[2]}`]
    const error = /^error\s+([\w/]+)\s/.exec(line)
    return error !== null ? [`${error[1]} error`] : []
  })
}

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => { for (const c of cleanups.splice(0)) await c() })

describe('examples/', () => {
  it('the Wasm and the workflows rebuild from their sources byte for byte', async () => {
    for (const [name, bytes] of Object.entries(await buildExampleWasm())) {
      expect(Buffer.from(readFileSync(path(name))).equals(Buffer.from(bytes)), `${name} differs from its sources: npm run examples:build`).toBe(true)
    }
    for (const [name, text] of Object.entries(await buildExampleWorkflows())) {
      expect(readFileSync(path(name), 'utf8'), `${name} differs from its definition: npm run examples:build`).toBe(text)
    }
  })

  it('every example is listed here, has its documented CID, and names Wasm that sits beside it', async () => {
    const files = readdirSync(EXAMPLES).filter(f => f.endsWith('.json')).sort()
    expect(files).toEqual(Object.keys(EXPECTED).sort())
    const wasm = new Map<string, string>()
    for (const f of readdirSync(EXAMPLES).filter(f => f.endsWith('.wasm'))) wasm.set((await fileCid(readFileSync(path(f)))).toString(), f)
    for (const [name, expected] of Object.entries(EXPECTED)) {
      if (name === 'authoring.json') continue
      const workflow = parseWorkflow(parseJson(readFileSync(path(name), 'utf8')))
      expect(workflow.cid.toString(), name).toBe(expected.cid)
      for (const t of workflow.tasks) {
        if (t.run.op === 'ipvm/sleep') continue
        expect(wasm.has(t.run.rsc.replace('ipfs://', '')), `${name}: ${t.run.rsc}`).toBe(true)
      }
    }
    const compiled = await runCli(['workflow', path('authoring.json'), '--json'])
    expect(compiled.code).toBe(0)
    const out = JSON.parse(compiled.stdout)
    expect(out.workflow).toBe(EXPECTED['authoring.json'].cid)
    expect(out.tasks.map((t: { name: string }) => t.name)).toEqual(['seed', 'twice', 'again', 'sum'])
    expect(out.tasks[3].awaits).toEqual(['twice', 'again'])
    expect(out.files).toHaveLength(1)
  })

  it('ipvm run runs every example to its documented result with no node running (one started for each run)', async () => {
    const data = tempDir()
    cleanups.push(data.remove)
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const r = await runCli(['run', path(name), '--data', data.dir], {}, 60_000)
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(expected.exit)
      expect(r.stderr, name).toBe('')
      const got = outputs(r.stdout)
      if (name === 'fan-out.json' || name === 'authoring.json' || name === 'image.json') expect(got.sort(), name).toEqual([...expected.outputs].sort())
      else expect(got, name).toEqual(expected.outputs)
      expect(r.stdout, name).toContain(`${expected.status}: `)
      expect(r.stdout, name).toContain(`(workflow ${expected.cid})`)
    }
  }, 240_000)

  it('ipvm run uses the node running on the data folder, which then knows the run', async () => {
    const t = await startTestNode()
    cleanups.push(t.close)
    const r = await runCli(['run', path('chain.json'), '--data', t.dataDir, '--name', 'on-the-node'], {}, 60_000)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(outputs(r.stdout)).toEqual(EXPECTED['chain.json'].outputs)
    const run = await t.client.request<{ name: string, status: string }>('workflow_status', [EXPECTED['chain.json'].cid])
    expect(run).toMatchObject({ name: 'on-the-node', status: 'completed' })
  }, 120_000)
})
