import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectRun } from '../../../src/client/index.js'
import { runCli } from '../../utils/cli.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { workflowCid } from '../../utils/workflows.js'
import { sleepTask, waitForStatus } from '../../utils/control.js'

const CLI_TIMEOUT_MS = 60_000
const UNKNOWN = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'

describe('ipvm status, pause, resume, cancel', () => {
  let t: TestNode
  let port: string
  beforeAll(async () => {
    t = await startTestNode()
    port = String(t.node.rpcPort)
  }, 60_000)
  afterAll(async () => { await t.close() })

  const ipvm = async (...args: string[]): ReturnType<typeof runCli> => await runCli([...args, '--port', port], {}, CLI_TIMEOUT_MS)

  it('show a run and the list of runs, and pause, resume and cancel a run', async () => {
    const wf = { tasks: [sleepTask(60_000, 'cli')] }
    const cid = workflowCid(wf)
    const run = collectRun(await t.client.runWorkflow(wf, { name: 'cli-run' }), 120_000)
    await waitForStatus(t.client, cid, ['sleeping'])

    const [list, one, unknown] = await Promise.all([ipvm('status', '--json'), ipvm('status', cid), ipvm('status', UNKNOWN)])
    expect(list.code).toBe(0)
    const page = JSON.parse(list.stdout) as { runs: Array<{ workflow: { '/': string }, status: string }> }
    expect(page.runs.find(r => r.workflow['/'] === cid)?.status).toBe('sleeping')
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/^status\s+sleeping$/m)
    expect(one.stdout).toMatch(/^name\s+cli-run$/m)
    expect(one.stdout).toMatch(/^wakes\s+\d{4}-/m)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('WORKFLOW_NOT_FOUND')

    const pause = await ipvm('pause', cid)
    expect(pause.code).toBe(0)
    expect(pause.stdout.startsWith(`paused  ${cid}  (cli-run)`)).toBe(true)
    const resume = await ipvm('resume', cid, '--json')
    expect(resume.code).toBe(0)
    expect(JSON.parse(resume.stdout)).toMatchObject({ workflow: { '/': cid }, status: 'sleeping' })

    const [cancel, table] = await Promise.all([ipvm('cancel', cid), ipvm('status', '--limit', '5')])
    expect(cancel.code).toBe(0)
    expect(cancel.stdout.startsWith('cancelled')).toBe(true)
    expect(table.code).toBe(0)
    expect(table.stdout.split('\n')[0]).toMatch(/^STATUS\s+PROGRESS\s+UPDATED\s+WORKFLOW\s+NAME$/)
    expect((await run).status.status).toBe('cancelled')

    const again = await ipvm('cancel', cid)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('WORKFLOW_STATE')
  }, 180_000)
})
