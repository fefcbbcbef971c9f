import { describe, expect, it } from 'vitest'
import {
  CID, Float, IpldError, IpldErrorCode, assertUniqueInstructions, cidOf, duplicateInstructions, parseCid, parseInstruction,
  parseJson, parseWorkflow, parseWorkflowSliced, parseWorkflowTasks, DUPLICATE_TASKS_MESSAGE, RUN_NOT_EXPANDED_MESSAGE, type Ipld, type IpldMap
} from '../../../src/ipld/index.js'

const WASM = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'
const LINK = parseCid('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')

function instruction (over: IpldMap = {}): IpldMap {
  return { rsc: WASM, op: 'wasm/run', input: { func: 'add_one', args: [1] }, nnc: '', ...over }
}

function task (over: IpldMap = {}, run: Ipld = instruction()): IpldMap {
  return { cause: null, meta: { memory: 4294967296, time: 100000 }, prf: [], run, ...over }
}

function codeOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof IpldError) return err.code
    throw err
  }
  return 'no error'
}

describe('instruction normalization', () => {
  it('keeps exactly {op, nnc, rsc, input}; extra keys are dropped', () => {
    const a = parseInstruction(instruction({ extra: 1 }))
    const b = parseInstruction(instruction())
    expect(Object.keys(a.ipld).sort()).toEqual(['input', 'nnc', 'op', 'rsc'])
    expect(a.cid.equals(b.cid)).toBe(true)
  })

  it('trims and lower-cases op, with Rust whitespace rules', () => {
    expect(parseInstruction(instruction({ op: '  WASM/Run\n' })).op).toBe('wasm/run')
    expect(parseInstruction(instruction({ op: '\u0085wasm/run\u3000' })).op).toBe('wasm/run')
    // U+FEFF is whitespace to JavaScript's trim() but not to Rust's
    expect(parseInstruction(instruction({ op: '\ufeffwasm/run' })).op).toBe('\ufeffwasm/run')
    expect(parseInstruction(instruction({ op: ' WASM/RUN ' })).cid.equals(parseInstruction(instruction()).cid)).toBe(true)
    expect(codeOf(() => parseInstruction(instruction({ op: 5 })))).toBe(IpldErrorCode.INVALID_WORKFLOW)
  })

  it('normalizes rsc URLs like rust-url and turns a CIDv1 link into ipfs://<base32>', () => {
    expect(parseInstruction(instruction()).rsc).toBe(WASM)
    expect(parseInstruction(instruction({ rsc: 'HTTPS://Example.COM/a/../b' })).rsc).toBe('https://example.com/b')
    const wasmCid = CID.parse('bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq')
    const viaLink = parseInstruction(instruction({ rsc: wasmCid.toV1() }))
    expect(viaLink.rsc).toBe(WASM)
    expect(viaLink.cid.equals(parseInstruction(instruction()).cid)).toBe(true)
  })

  it('rejects a CIDv0 link, a relative URL, and a missing or mistyped rsc', () => {
    expect(codeOf(() => parseInstruction(instruction({ rsc: CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n') })))).toBe(IpldErrorCode.INVALID_RESOURCE)
    expect(codeOf(() => parseInstruction(instruction({ rsc: 'not a url' })))).toBe(IpldErrorCode.INVALID_RESOURCE)
    expect(codeOf(() => parseInstruction(instruction({ rsc: 5 })))).toBe(IpldErrorCode.INVALID_WORKFLOW)
    const { rsc: _, ...noRsc } = instruction()
    expect(codeOf(() => parseInstruction(noRsc))).toBe(IpldErrorCode.INVALID_WORKFLOW)
  })

  it('requires op and input; a missing nnc is ""', () => {
    const { nnc: _, ...noNonce } = instruction()
    expect(parseInstruction(noNonce).cid.equals(parseInstruction(instruction()).cid)).toBe(true)
    const { input: _i, ...noInput } = instruction()
    expect(codeOf(() => parseInstruction(noInput))).toBe(IpldErrorCode.INVALID_WORKFLOW)
    const { op: _o, ...noOp } = instruction()
    expect(codeOf(() => parseInstruction(noOp))).toBe(IpldErrorCode.INVALID_WORKFLOW)
  })

  it('hashes input raw: any IPLD is accepted at parse time', () => {
    const a = parseInstruction(instruction({ input: [1, 2] }))
    expect(a.input).toEqual([1, 2])
    expect(a.cid.equals(cidOf({ op: 'wasm/run', nnc: '', rsc: WASM, input: [1, 2] }))).toBe(true)
  })
})

describe('task and workflow normalization', () => {
  it('keeps meta verbatim (no Resources defaults, extra keys and floats kept)', () => {
    const meta = { fuel: new Float(1), extra: 'x' }
    const wf = parseWorkflow({ tasks: [task({ meta })] })
    expect(wf.tasks[0].meta).toEqual(meta)
    expect(wf.tasks[0].ipld.meta).toEqual(meta)
  })

  it('cause: a link is kept, anything else becomes null (Homestar quirk)', () => {
    expect(parseWorkflow({ tasks: [task({ cause: LINK })] }).tasks[0].cause?.equals(LINK)).toBe(true)
    const base = parseWorkflow({ tasks: [task()] }).cid
    for (const cause of ['bafy-not-a-link', 5, {}, [LINK]] as Ipld[]) {
      const wf = parseWorkflow({ tasks: [task({ cause })] })
      expect(wf.tasks[0].cause).toBeNull()
      expect(wf.cid.equals(base)).toBe(true)
    }
    const { cause: _, ...noCause } = task()
    expect(parseWorkflow({ tasks: [noCause] }).cid.equals(base)).toBe(true)
  })

  it('prf: a list must hold links; a non-list becomes [] (Homestar quirk)', () => {
    expect(parseWorkflow({ tasks: [task({ prf: [LINK] })] }).tasks[0].prf[0].equals(LINK)).toBe(true)
    const base = parseWorkflow({ tasks: [task()] }).cid
    expect(parseWorkflow({ tasks: [task({ prf: null })] }).cid.equals(base)).toBe(true)
    expect(parseWorkflow({ tasks: [task({ prf: 'x' })] }).tasks[0].prf).toEqual([])
    expect(codeOf(() => parseWorkflow({ tasks: [task({ prf: [LINK.toString()] })] }))).toBe(IpldErrorCode.INVALID_WORKFLOW)
  })

  it('requires run, meta and the prf key; extra task and workflow keys are dropped', () => {
    for (const key of ['run', 'meta', 'prf']) {
      const t = task()
      delete t[key]
      expect(codeOf(() => parseWorkflow({ tasks: [t] }))).toBe(IpldErrorCode.INVALID_WORKFLOW)
    }
    const base = parseWorkflow({ tasks: [task()] }).cid
    expect(parseWorkflow({ tasks: [task({ note: 1 })], name: 'x' }).cid.equals(base)).toBe(true)
  })

  it('rejects non-map workflows and tasks, and non-list tasks, with a path', () => {
    expect(codeOf(() => parseWorkflow([]))).toBe(IpldErrorCode.INVALID_WORKFLOW)
    expect(codeOf(() => parseWorkflow({}))).toBe(IpldErrorCode.INVALID_WORKFLOW)
    expect(codeOf(() => parseWorkflow({ tasks: {} }))).toBe(IpldErrorCode.INVALID_WORKFLOW)
    expect(() => parseWorkflow({ tasks: [task(), 5] })).toThrow(expect.objectContaining({ data: { path: 'tasks[1]' } }))
    expect(() => parseWorkflow({ tasks: [task({}, instruction({ nnc: 'XYZ' }))] }))
      .toThrow(expect.objectContaining({ code: IpldErrorCode.INVALID_NONCE, data: { path: 'tasks[0].run.nnc' } }))
  })

  it('accepts an empty workflow', () => {
    const wf = parseWorkflow({ tasks: [] })
    expect(wf.tasks).toEqual([])
    expect(wf.cid.equals(cidOf({ tasks: [] }))).toBe(true)
  })

  it('a run given as a link cannot be executed: RUN_NOT_EXPANDED with Homestar message and the workflow CID', () => {
    try {
      parseWorkflow({ tasks: [task(), task({}, LINK)] })
      expect.unreachable()
    } catch (err) {
      expect((err as IpldError).code).toBe(IpldErrorCode.RUN_NOT_EXPANDED)
      expect((err as IpldError).message).toBe(RUN_NOT_EXPANDED_MESSAGE)
      const normalized = { tasks: [parseWorkflow({ tasks: [task()] }).tasks[0].ipld, { prf: [], run: LINK, meta: task().meta, cause: null }] }
      expect((err as IpldError).data).toEqual({ path: 'tasks[1].run', workflow: cidOf(normalized).toString() })
    }
  })

  it('ran is the CID of {task} and differs from the instruction CID', () => {
    const wf = parseWorkflow({ tasks: [task()] })
    expect(wf.tasks[0].ran.equals(cidOf({ task: wf.tasks[0].ipld }))).toBe(true)
    expect(wf.tasks[0].ran.equals(wf.tasks[0].run.cid)).toBe(false)
  })
})

describe('workflows read in slices', () => {
  const tasks = [task(), task({ meta: { time: new Float(1) } }, instruction({ input: { func: 'add_one', args: [2] } })), task({ cause: LINK })]
  const pause = async (): Promise<void> => {}

  it('give the same workflow (tasks, CIDs, bytes) whole or a task at a time', async () => {
    const whole = parseWorkflow({ tasks })
    expect(await parseWorkflowSliced({ tasks }, pause)).toEqual(whole)
    const read: number[] = []
    const byTask = await parseWorkflowTasks(tasks.length, i => { read.push(i); return tasks[i] }, pause)
    expect(byTask).toEqual(whole)
    expect(byTask.cid.equals(whole.cid)).toBe(true)
    expect(read).toEqual([0, 1, 2])
  })

  it('name the task in error paths, a task at a time as whole', async () => {
    const bad = [task(), task({ prf: [1] })]
    await expect(parseWorkflowTasks(bad.length, i => bad[i], pause)).rejects.toMatchObject({ code: IpldErrorCode.INVALID_WORKFLOW, data: { path: 'tasks[1].prf[0]' } })
    expect(() => parseWorkflow({ tasks: bad })).toThrow(expect.objectContaining({ data: { path: 'tasks[1].prf[0]' } }))
  })
})

describe('duplicate instructions', () => {
  it('finds tasks sharing an instruction CID and tells the user to add a nonce', () => {
    const wf = parseWorkflow({ tasks: [task(), task({ meta: {} }), task({}, instruction({ nnc: '0123456789abcdefghij'.slice(0, 19) + '0' }))] })
    const dups = duplicateInstructions(wf)
    expect(dups).toHaveLength(1)
    expect(dups[0].tasks).toEqual([0, 1])
    expect(dups[0].cid.equals(wf.tasks[0].run.cid)).toBe(true)
    try {
      assertUniqueInstructions(wf)
      expect.unreachable()
    } catch (err) {
      expect((err as IpldError).code).toBe(IpldErrorCode.DUPLICATE_TASKS)
      expect((err as IpldError).message).toBe(DUPLICATE_TASKS_MESSAGE)
      expect((err as IpldError).message).toContain('nnc')
      expect((err as IpldError).data).toEqual({ workflow: wf.cid.toString(), duplicates: [{ instruction: wf.tasks[0].run.cid.toString(), tasks: [0, 1] }] })
    }
  })

  it('a nonce makes identical tasks distinct', () => {
    const wf = parseWorkflow(parseJson(JSON.stringify({
      tasks: [task(), task({}, instruction({ nnc: 'ab'.repeat(9) + 'a0' }))]
    })))
    expect(duplicateInstructions(wf)).toEqual([])
    expect(() => assertUniqueInstructions(wf)).not.toThrow()
  })
})
