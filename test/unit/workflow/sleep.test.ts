import { describe, expect, it } from 'vitest'
import { Float, parseJson, parseWorkflow } from '../../../src/ipld/index.js'
import { MAX_SLEEP_MS, parseSleepInput, type WorkflowError } from '../../../src/workflow/index.js'
import { sleepUntil } from '../../../src/workflow/sleep.js'

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as WorkflowError).code
  }
  return undefined
}

describe('ipvm/sleep input', () => {
  it('takes duration_ms or until, and an optional value that may await a task', () => {
    expect(parseSleepInput({ duration_ms: 250 }, 0)).toEqual({ durationMs: 250 })
    expect(parseSleepInput({ duration_ms: new Float(1000) }, 0)).toEqual({ durationMs: 1000 })
    expect(parseSleepInput({ until: 1_700_000_000_000n }, 0)).toEqual({ until: 1_700_000_000_000 })
    expect(parseSleepInput({ duration_ms: 0, value: 'x' }, 0)).toEqual({ durationMs: 0, value: { kind: 'literal', value: 'x' } })
    const wf = parseWorkflow(parseJson('{"tasks":[{"cause":null,"meta":{},"prf":[],"run":{"op":"ipvm/sleep","rsc":"ipvm:sleep","nnc":"","input":{"duration_ms":5,"value":{"await/ok":{"/":"bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du"}}}}}]}'))
    const parsed = parseSleepInput(wf.tasks[0].run.input, 0)
    expect(parsed.value).toMatchObject({ kind: 'await', branch: 'ok' })
  })

  it('refuses anything else with WORKFLOW_INVALID_SLEEP_INPUT', () => {
    for (const input of [null, 5, [], {}, { duration_ms: -1 }, { duration_ms: 1.5 }, { duration_ms: MAX_SLEEP_MS + 1 }, { until: 'tomorrow' }, { duration_ms: 1, until: 2 }, { duration_ms: 1, later: true }]) {
      expect(codeOf(() => parseSleepInput(input as never, 3)), JSON.stringify(input)).toBe('WORKFLOW_INVALID_SLEEP_INPUT')
    }
  })

  it('sleepUntil waits until the time, and stops at once when aborted', async () => {
    const t0 = Date.now()
    await sleepUntil(t0 + 120, new AbortController().signal)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115)
    const abort = new AbortController()
    const reason = new Error('stop')
    setTimeout(() => abort.abort(reason), 30)
    // a 10-minute sleep ended by the abort: it rejects with the abort's reason within the test's own limit (30 s)
    await expect(sleepUntil(Date.now() + 600_000, abort.signal)).rejects.toBe(reason)
  })
})
