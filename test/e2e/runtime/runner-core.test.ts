import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Float, type Ipld } from '../../../src/ipld/value.js'
import { RuntimeErrorCode, WasmRunner } from '../../../src/runtime/index.js'
import { silentLogger } from '../../../src/util/logger.js'
import { buildTestCoreModule } from '../../utils/wasm.js'
import { rejectsWith } from './helpers.js'

const KEY = 'bafytestcore'

describe('WasmRunner: plain core modules', () => {
  const runner = new WasmRunner({ workers: 2 }, { logger: silentLogger() })
  let wasm: Uint8Array
  const call = async (func: string, args: Ipld[]): Promise<Ipld> => (await runner.run({ key: KEY, wasm, func, args })).output

  beforeAll(async () => {
    wasm = await buildTestCoreModule()
    await runner.start()
  })
  afterAll(async () => runner.stop())

  it('calls numeric exports (Homestar would refuse a module without component metadata)', async () => {
    expect(await call('add_one', [41])).toBe(42)
    expect(await call('addOne', [1])).toBe(2)
    expect(await call('add_i64', [2n ** 62n, 2n ** 62n])).toBe(-(2n ** 63n))
    expect(await call('add_i64', [1, 2])).toBe(3)
    expect(await call('to_f32', [3883.2])).toBe(3883.2)
    expect(await call('to_f32', [2])).toEqual(new Float(2))
    expect(await call('add_one', [true])).toBe(2)
  })

  it('rejects arguments that are not numbers, and missing ones', async () => {
    await rejectsWith(call('add_one', ['1']), RuntimeErrorCode.BAD_ARGUMENT, false)
    await rejectsWith(call('add_one', [2 ** 32]), RuntimeErrorCode.BAD_ARGUMENT, false)
    await rejectsWith(call('add_i64', [1]), RuntimeErrorCode.BAD_ARGUMENT, false)
    await rejectsWith(call('nope', []), RuntimeErrorCode.FUNCTION_NOT_FOUND, false)
  })

  it('reports traps as retryable and keeps serving', async () => {
    const err = await rejectsWith(call('div', [1, 0]), RuntimeErrorCode.TRAP, true)
    expect(err.message).toMatch(/divide by zero/)
    await rejectsWith(call('trap', []), RuntimeErrorCode.TRAP, true)
    expect(await call('div', [7, 2])).toBe(3)
  })

  it('gives every call a module in its initial state', async () => {
    const outputs = await Promise.all(Array.from({ length: 10 }, async () => call('count', [])))
    expect(new Set(outputs)).toEqual(new Set([1001]))
  })

  it('accepts WAT text', async () => {
    const text = await readFile(new URL('../../fixtures/wasm/test-core.wat', import.meta.url))
    const result = await runner.run({ key: 'bafycorewat', wasm: new Uint8Array(text), func: 'add_one', args: [1] })
    expect(result.output).toBe(2)
  })
})
