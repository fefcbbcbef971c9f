import { JSONRPCErrorException } from 'json-rpc-2.0'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { JsonRpcCode, OpenRpc, Router, RpcError, RpcErrorCode, type AnyMethod, type OpenRpcDocument } from '../../../src/rpc/index.js'

const doc: OpenRpcDocument = {
  openrpc: '1.2.6',
  info: { title: 'test', version: '0' },
  methods: ['ok', 'throws', 'rejects', 'refuses', 'exception'].map(name => ({ name, params: [] }))
}

/** A router whose methods answer, throw, reject, refuse with an RpcError and throw json-rpc-2.0's exception; `ran` counts their calls, `warnings` what was logged. */
function setup (): { router: Router, ran: Record<string, number>, warnings: string[] } {
  const ran: Record<string, number> = {}
  const warnings: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => { warnings.push((JSON.parse(line) as { msg: string }).msg) } })
  const router = new Router({}, { openrpc: new OpenRpc(doc, {}), logger })
  const counted = (name: string, fn: () => unknown): AnyMethod => ({ name, handler: () => { ran[name] = (ran[name] ?? 0) + 1; return fn() } })
  router.register(counted('ok', async () => await Promise.resolve({ fine: true })))
  router.register(counted('throws', () => { throw new Error('broken') }))
  router.register(counted('rejects', async () => await Promise.reject(new Error('broken later'))))
  router.register(counted('refuses', async () => await Promise.reject(new RpcError(RpcErrorCode.SUBSCRIPTION_LIMIT, 'too many', { limit: 1 }))))
  router.register(counted('exception', () => { throw new JSONRPCErrorException('custom', 4242, { detail: 1 }) }))
  return { router, ran, warnings }
}

const ctx = { transport: 'http' as const }

describe('Router', () => {
  it('answers a method\'s result, and maps what it throws or rejects with to a JSON-RPC error', async () => {
    const { router, warnings } = setup()
    expect(await router.handleOne({ jsonrpc: '2.0', id: 1, method: 'ok' }, ctx)).toEqual({ jsonrpc: '2.0', id: 1, result: { fine: true } })

    const thrown = await router.handleOne({ jsonrpc: '2.0', id: 2, method: 'throws' }, ctx)
    expect(thrown).toMatchObject({ jsonrpc: '2.0', id: 2, error: { code: JsonRpcCode.INTERNAL_ERROR } })
    const rejected = await router.handleOne({ jsonrpc: '2.0', id: 'r', method: 'rejects' }, ctx)
    expect(rejected).toMatchObject({ jsonrpc: '2.0', id: 'r', error: { code: JsonRpcCode.INTERNAL_ERROR } })
    // the node's own failures are logged; a refusal with a code is the client's answer, not logged
    expect(warnings).toEqual(['rpc method failed', 'rpc method failed'])

    const refused = await router.handleOne({ jsonrpc: '2.0', id: 3, method: 'refuses' }, ctx)
    expect(refused).toMatchObject({ id: 3, error: { code: JsonRpcCode.LIMIT_EXCEEDED, message: 'too many', data: { code: RpcErrorCode.SUBSCRIPTION_LIMIT } } })
    expect(await router.handleOne({ jsonrpc: '2.0', id: 4, method: 'exception' }, ctx)).toEqual({ jsonrpc: '2.0', id: 4, error: { code: 4242, message: 'custom', data: { detail: 1 } } })
    expect(warnings).toHaveLength(2)
  })

  it('runs a notification and answers nothing, whether it succeeds or fails', async () => {
    const { router, ran } = setup()
    for (const method of ['ok', 'throws', 'rejects', 'refuses', 'exception']) {
      expect(await router.handleOne({ jsonrpc: '2.0', method }, ctx)).toBeNull()
    }
    expect(ran).toEqual({ ok: 1, throws: 1, rejects: 1, refuses: 1, exception: 1 })
  })

  it('answers an unknown method with METHOD_NOT_FOUND and runs nothing', async () => {
    const { router, ran } = setup()
    expect(await router.handleOne({ jsonrpc: '2.0', id: 9, method: 'missing' }, ctx)).toMatchObject({ id: 9, error: { code: JsonRpcCode.METHOD_NOT_FOUND } })
    expect(ran).toEqual({})
  })
})
