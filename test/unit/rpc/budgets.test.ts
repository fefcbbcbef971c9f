import { readdirSync, readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { ClientBudgets, OutgoingBudget, OpenRpc, clientKey } from '../../../src/rpc/index.js'
import { MAX_ISSUES } from '../../../src/rpc/openrpc.js'

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => void

describe('clientKey', () => {
  it('an IPv4 address (mapped or not) is a client; an IPv6 address stands for its /64', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1')
    expect(clientKey('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(clientKey('::FFFF:10.1.2.3')).toBe('10.1.2.3')
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'))
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'))
    expect(clientKey('fe80::1%eth0')).toBe(clientKey('fe80::2'))
    expect(clientKey('::1')).toBe('0:0:0:0::/64')
    expect(clientKey('::ffff:1.2.3.4:5')).toBe('::ffff:1.2.3.4:5')
    expect(clientKey(undefined)).toBe('unknown')
  })
})

describe('ClientBudgets', () => {
  it('one budget per client, whatever its connection; bounded in memory', () => {
    let now = 0
    const budgets = new ClientBudgets({ ratePerSecond: 1, burst: 2 }, () => now, 3)
    const a = budgets.forAddress('10.0.0.1')
    expect(budgets.forAddress('::ffff:10.0.0.1')).toBe(a)
    expect([a.take(), a.take(), budgets.forAddress('10.0.0.1').take()]).toEqual([true, true, false])
    expect(budgets.forAddress('10.0.0.2').take()).toBe(true)
    for (let i = 3; i < 10; i++) budgets.forAddress(`10.0.0.${i}`)
    expect(budgets.size).toBe(3)
    now += 1000
    expect(budgets.forAddress('10.0.0.9').take()).toBe(true)
    // no limit: nothing is remembered
    const off = new ClientBudgets({ ratePerSecond: 0, burst: 1 })
    for (let i = 0; i < 5; i++) expect(off.forAddress(`10.0.1.${i}`).take()).toBe(true)
    expect(off.size).toBe(0)
  })
})

/** A socket as the budget sees it: its queue and whether it was destroyed. */
function fakeSocket (queued: number): Socket & { dropped: boolean } {
  const s = { writableLength: queued, destroyed: false, dropped: false, destroy () { s.destroyed = true; s.dropped = true; s.writableLength = 0 } }
  return s as unknown as Socket & { dropped: boolean }
}

describe('OutgoingBudget', () => {
  it('measures only once the charges pass the budget, then drops the sockets furthest behind until the rest fit', () => {
    const sockets = new Set([fakeSocket(100), fakeSocket(700), fakeSocket(300), fakeSocket(0)])
    const dropped: number[] = []
    const budget = new OutgoingBudget(1000, sockets, (_s, queued) => dropped.push(queued))
    budget.charge(900)
    expect(dropped).toEqual([])
    // over: 1100 queued, the 700 goes
    budget.charge(200)
    expect(dropped).toEqual([700])
    expect([...sockets].map(s => (s as unknown as { dropped: boolean }).dropped)).toEqual([false, true, false, false])
    // the estimate restarts from what is really queued (400): 500 more is not over
    budget.charge(500)
    expect(dropped).toEqual([700])
    // a socket that drained frees its share
    const [first, , third] = [...sockets] as unknown as Array<{ writableLength: number }>
    first.writableLength = 0
    third.writableLength = 900
    budget.charge(200)
    expect(dropped).toEqual([700])
    third.writableLength = 1500
    expect(budget.enforce()).toBe(1)
    expect(dropped).toEqual([700, 1500])
  })
})

describe('OpenRpc.validateParams', () => {
  const openrpc = new OpenRpc()

  it('every schema is valid JSON Schema (the node does not check them against the meta-schema when it starts)', () => {
    const strict = new Ajv({ strict: false })
    addFormats(strict)
    const dir = new URL('../../../schemas/', import.meta.url)
    for (const file of readdirSync(dir).filter(f => f.endsWith('.json'))) {
      expect(strict.validateSchema(JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as object), `${file}: ${JSON.stringify(strict.errors)}`).toBe(true)
    }
    expect(strict.validateSchema({ type: 'objekt' })).toBe(false)
  })

  it('compiles each validator on first use, and every method of api.json has ones that compile and check', () => {
    // validators are compiled lazily (not at start): a schema that cannot compile must still be caught here
    for (const name of openrpc.methodNames()) {
      const method = openrpc.method(name)!
      expect(() => openrpc.validateParams(name, [])).not.toThrow()
      if (method.params.length > 0) expect(openrpc.validateParams(name, method.params.map(() => ({ '\u0000': 1 }))).ok).toBe(false)
      if (method.result !== undefined) expect(openrpc.validateResult(name, Symbol('not JSON')).length).toBeGreaterThan(0)
    }
  })
  const bad = { workflow: { tasks: Array.from({ length: 5000 }, () => ({})) } }

  it('lists every error, without repeats and at most MAX_ISSUES, when asked to explain', () => {
    const r = openrpc.validateParams('subscribe_run_workflow', [bad])
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues).toHaveLength(MAX_ISSUES)
    expect(new Set(r.issues.map(i => `${i.path} ${i.message}`)).size).toBe(MAX_ISSUES)
  })

  it('gives the first error only for large params (explain false)', () => {
    const r = openrpc.validateParams('subscribe_run_workflow', [bad], false)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues.length).toBeLessThanOrEqual(3)
    expect(r.issues[0].path).toMatch(/^\/run\/workflow\/tasks\/0/)
  })

  it('cuts paths and messages that quote what the client sent', () => {
    const key = 'k'.repeat(10_000)
    const r = openrpc.validateParams('subscribe_run_workflow', [{ workflow: { tasks: [] }, [key]: 1 }])
    expect(r.ok).toBe(false)
    if (r.ok) return
    for (const issue of r.issues) expect(issue.message.length + issue.path.length).toBeLessThan(500)
  })

  it('refuses a run name over 256 characters and other oversized strings of the contract', () => {
    const wf = { tasks: [] }
    expect(openrpc.validateParams('subscribe_run_workflow', [{ name: 'n'.repeat(256), workflow: wf }]).ok).toBe(true)
    expect(openrpc.validateParams('subscribe_run_workflow', [{ name: '😀'.repeat(256), workflow: wf }]).ok).toBe(true)
    expect(openrpc.validateParams('subscribe_run_workflow', [{ name: 'n'.repeat(257), workflow: wf }])).toMatchObject({ ok: false, issues: [{ path: '/run/name' }] })
    expect(openrpc.validateParams('metrics', [{ prefix: 'p'.repeat(257) }]).ok).toBe(false)
    expect(openrpc.validateParams('unsubscribe_run_workflow', ['s'.repeat(257)]).ok).toBe(false)
    const task = (func: string): object => ({ run: { rsc: 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyka', op: 'wasm/run', input: { func, args: [] }, nnc: '' }, meta: {}, prf: [] })
    expect(openrpc.validateParams('subscribe_run_workflow', [{ workflow: { tasks: [task('f'.repeat(1024))] } }]).ok).toBe(true)
    expect(openrpc.validateParams('subscribe_run_workflow', [{ workflow: { tasks: [task('f'.repeat(1025))] } }]).ok).toBe(false)
  })
})
