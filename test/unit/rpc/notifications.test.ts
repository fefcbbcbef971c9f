import { describe, expect, it } from 'vitest'
import { cidOf } from '../../../src/ipld/index.js'
import { runNotification } from '../../../src/rpc/notifications.js'
import type { RunEvent } from '../../../src/workflow/index.js'

describe('runNotification', () => {
  it('is written once per event and run name, for every subscriber of the run', () => {
    const cid = cidOf({ tasks: [] })
    const event: RunEvent = { type: 'status', status: 'running', final: false, tasks: { total: 1, executed: 0, replayed: 0, failed: 0, skipped: 0 }, retries: 0, at: 1 }
    const a = runNotification({ cid, name: 'a' }, event)
    expect(runNotification({ cid, name: 'a' }, event)).toBe(a)
    expect(runNotification({ cid, name: 'b' }, event)).not.toBe(a)
    expect(runNotification({ cid, name: 'a' }, { ...event })).not.toBe(a)
    expect(a).toEqual({ json: { workflow_status: { workflow: { '/': cid.toString() }, name: 'a', status: 'running', final: false, tasks: event.tasks, retries: 0, timestamp: 1 } } })
  })
})
