import { describe, expect, it } from 'vitest'
import { planWorkflow } from '../../../src/dashboard/index.js'
import { awaitOk, instructionCid, task } from '../../utils/workflows.js'

const RSC = 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka'

describe('planWorkflow limits', () => {
  it('refuses more tasks than workflow.max_tasks, read from the text before it is parsed', () => {
    const text = JSON.stringify({ tasks: Array.from({ length: 6 }, (_, i) => task(RSC, 'add_one', [i])) })
    expect(planWorkflow(text, { maxTasks: 6, maxJsonDepth: 64 }).tasks).toHaveLength(6)
    expect(() => planWorkflow(text, { maxTasks: 5, maxJsonDepth: 64 })).toThrow(expect.objectContaining({ code: 'WORKFLOW_TOO_LARGE', data: { limit: 5, tasks: 6 } }))
    // not parsed: a syntax error after the tasks does not change the answer
    expect(() => planWorkflow(`${text.slice(0, -1)}, "x": [tru]}`, { maxTasks: 5, maxJsonDepth: 64 })).toThrow(expect.objectContaining({ code: 'WORKFLOW_TOO_LARGE' }))
  })

  it('refuses text nested deeper than rpc.max_json_depth', () => {
    const text = JSON.stringify({ tasks: [task(RSC, 'f', [[[[[[1]]]]]])] })
    expect(() => planWorkflow(text, { maxTasks: 10, maxJsonDepth: 8 })).toThrow(expect.objectContaining({ code: 'RPC_JSON_TOO_DEEP' }))
    expect(planWorkflow(text, { maxTasks: 10, maxJsonDepth: 12 }).tasks).toHaveLength(1)
  })

  it('lists each awaited instruction once, however many arguments await it', () => {
    const first = task(RSC, 'add_one', [1])
    const many = task(RSC, 'sum', Array.from({ length: 5000 }, () => awaitOk(first)))
    const plan = planWorkflow(JSON.stringify({ tasks: [first, many] }))
    expect(plan.tasks[1].awaits).toEqual([{ cid: instructionCid(first), branch: 'ok', task: 0 }])
  })
})
