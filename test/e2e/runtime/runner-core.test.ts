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
    expect(await call('add_one', [new Float(41)])).toBe(42)
    expect(await call('add_one', [2 ** 32 - 1])).toBe(0)
  })

  it('refuses what a parameter cannot hold exactly, naming the argument: fractions, booleans, out of range, extra arguments', async () => {
    const refused = async (func: string, args: Ipld[], message: RegExp): Promise<void> => {
      const err = await rejectsWith(call(func, args), RuntimeErrorCode.BAD_ARGUMENT, false)
      expect(err.message).toMatch(message)
    }
    await refused('add_one', [1.5], /^args\[0\]: 1.5, not a whole number, cannot be passed as i32/)
    await refused('add_one', [true], /^args\[0\]: a boolean cannot be passed as i32/)
    await refused('add_one', [new Float(1e12)], /^args\[0\]: integer 1000000000000 cannot be passed as i32/)
    await refused('add_i64', [1, 0.5], /^args\[1\]: 0.5, not a whole number/)
    await refused('add_one', [1, 2], /^args\[1\] is one too many/)
    await refused('to_f32', [2n ** 53n + 1n], /^args\[0\]: integer 9007199254740993 cannot be passed as float64 exactly/)
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
