import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import wabtInit from 'wabt'
import { componentEmbed, componentNew } from '@bytecodealliance/jco-transpile/wasm-tools'
import { CID } from 'multiformats/cid'
import { Float, type Ipld } from '../../../src/ipld/value.js'
import { RuntimeErrorCode, WasmRunner } from '../../../src/runtime/index.js'
import { buildTestComponent, buildTestEmbeddedModule } from '../../utils/wasm.js'
import { capturingLogger, rejectsWith } from './helpers.js'

const KEY = 'bafytestcomponent'
const CID_V1 = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'

describe('WasmRunner: components', () => {
  const { logger, lines } = capturingLogger()
  const runner = new WasmRunner({ workers: 2 }, { logger })
  let wasm: Uint8Array
  const call = async (func: string, args: Ipld[]): Promise<Ipld> => (await runner.run({ key: KEY, wasm, func, args })).output

  beforeAll(async () => {
    wasm = await buildTestComponent()
    await runner.start()
  })
  afterAll(async () => runner.stop())

  it('runs add-one, found from add_one, addOne or add-one, and logs through wasi:logging', async () => {
    const result = await runner.run({ key: KEY, wasm, func: 'add_one', args: [1] })
    expect(result.output).toBe(2)
    expect(result.logs).toEqual([{ level: 'info', context: 'run-fn', message: 'add_one' }])
    expect(await call('addOne', [10])).toBe(11)
    expect(await call('add-one', [-1])).toBe(0)
    expect(lines()).toContainEqual(expect.objectContaining({ subject: 'wasm_execution', category: 'run-fn', msg: 'add_one', level: 30 }))
  })

  it('passes strings both ways, with the output quirks', async () => {
    expect(await call('append_string', ['Natural Science'])).toBe('Natural Science\nworld')
    expect(await call('join_strings', ['Round', 'about'])).toBe('Roundabout')
    expect(await call('join_strings', ['héllo ', 'wörld 😀'])).toBe('héllo wörld 😀')
    expect(await call('join_strings', ['nu', 'll'])).toBeNull()
    expect(await call('join_strings', [CID_V1, ''])).toEqual(CID.parse(CID_V1))
    expect(await call('join_strings', [CID.parse(CID_V1), ''])).toEqual(CID.parse(CID_V1))
  })

  it('passes bytes as list<u8>; an empty list comes back as [] (quirk)', async () => {
    expect(await call('reverse_bytes', [new Uint8Array([1, 2, 3])])).toEqual(new Uint8Array([3, 2, 1]))
    expect(await call('reverse_bytes', [[1, 2, 250]])).toEqual(new Uint8Array([250, 2, 1]))
    expect(await call('reverse_bytes', [new Uint8Array(0)])).toEqual([])
    const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff)
    const reversed = await call('reverse_bytes', [big])
    expect(reversed).toBeInstanceOf(Uint8Array)
    expect(Buffer.compare(reversed as Uint8Array, big.slice().reverse())).toBe(0)
  })

  it('converts floats: float32 output is its shortest decimal, whole floats are Float', async () => {
    expect(await call('to_float32', [3883.2])).toBe(3883.2)
    expect(await call('scale', [1.5, 2])).toEqual(new Float(3))
    expect(await call('scale', [0.5, 0.5])).toBe(0.25)
  })

  it('round-trips records, variants, enums, flags, options, results, lists, maps, tuples, chars, u64 and bool', async () => {
    expect(await call('echo_record', [{ x: 1, 'y-coord': -2 }])).toEqual({ x: 1, 'y-coord': -2 })
    expect(await call('echo_variant', [{ label: 'hi' }])).toEqual({ label: 'hi' })
    expect(await call('echo_variant', [{ circle: 7 }])).toEqual({ circle: 7 })
    expect(await call('echo_variant', [{ empty: null }])).toEqual({ empty: null })
    expect(await call('echo_enum', ['dark-blue'])).toBe('dark-blue')
    expect(await call('echo_flags', [['read', 'exec-all']])).toEqual(['read', 'exec-all'])
    expect(await call('echo_option', [null])).toBeNull()
    expect(await call('echo_option', [5])).toBe(5)
    expect(await call('echo_result', [[7, null]])).toEqual([7, null])
    expect(await call('echo_result', [[null, 'bad stuff']])).toEqual([null, 'bad stuff'])
    expect(await call('echo_list', [[1, -2, 3]])).toEqual([1, -2, 3])
    expect(await call('echo_map', [{ b: 'two', a: 'one' }])).toEqual({ a: 'one', b: 'two' })
    expect(await call('echo_tuple', [[7, 'x']])).toEqual([7, 'x'])
    expect(await call('echo_char', ['é'])).toBe('é')
    expect(await call('echo_u64', [2n ** 64n - 1n])).toBe(2n ** 64n - 1n)
    expect(await call('echo_bool', [true])).toBe(true)
    expect(await call('check', [true])).toEqual([1, null])
    expect(await call('check', [false])).toEqual([null, 1])
  })

  it('provides homestar:host/helpers: get-current-time since the instance was made, and print', async () => {
    const time = await call('now', []) as Record<string, number>
    expect(Object.keys(time).sort()).toEqual(['milliseconds', 'nanoseconds', 'seconds'])
    // whole seconds, then the fraction of a second in ms and ns (how long since the instance was made depends on the machine's load)
    expect(Number.isInteger(time.seconds) && time.seconds >= 0).toBe(true)
    expect(time.milliseconds).toBeLessThan(1000)
    expect(Math.floor(time.nanoseconds / 1e6)).toBe(time.milliseconds)
    const printed = await runner.run({ key: KEY, wasm, func: 'say', args: ['hello'] })
    expect(printed.output).toBeNull()
    expect(printed.logs).toEqual([{ level: 'print', context: 'print', message: 'hello' }])
  })

  it('gives every call an instance in its initial state', async () => {
    for (let i = 0; i < 5; i++) expect(await call('count', [])).toBe(1001)
    const outputs = await Promise.all(Array.from({ length: 20 }, async () => call('count', [])))
    expect(new Set(outputs)).toEqual(new Set([1001]))
    // the bump allocator's global is reset too: the heap does not creep across calls
    for (let i = 0; i < 50; i++) await call('reverse_bytes', [new Uint8Array(64 * 1024)])
    expect(await call('grow', [0])).toBe(1)
  })

  it('reports an unknown function and bad arguments as not retryable', async () => {
    const notFound = await rejectsWith(call('add_two', [1]), RuntimeErrorCode.FUNCTION_NOT_FOUND, false)
    expect(notFound.message).toBe('Wasm function add_two not found in given Wasm component/resource')
    await rejectsWith(call('add_one', ['x']), RuntimeErrorCode.BAD_ARGUMENT, false)
    await rejectsWith(call('add_one', [2 ** 31]), RuntimeErrorCode.BAD_ARGUMENT, false)
    await rejectsWith(call('join_strings', ['only one']), RuntimeErrorCode.BAD_ARGUMENT, false)
    await rejectsWith(call('echo_enum', ['blue']), RuntimeErrorCode.BAD_ARGUMENT, false)
  })

  it('componentizes a core module that carries component metadata (like Homestar\'s example_test.wasm)', async () => {
    const embedded = await buildTestEmbeddedModule()
    const result = await runner.run({ key: 'bafyembedded', wasm: embedded, func: 'add_one', args: [41] })
    expect(result.output).toBe(42)
  })

  it('refuses a component that imports what this host does not provide', async () => {
    const wabt = await wabtInit()
    const module = wabt.parseWat('env.wat', `(module (import "ipvm:test/env" "get" (func $get (result i32)))
      (func (export "f") (result i32) (call $get)))`, {})
    const bytes = await componentNew(await componentEmbed({
      binary: new Uint8Array(module.toBinary({}).buffer),
      witSource: 'package ipvm:test; interface env { get: func() -> u32; } world w { import env; export f: func() -> u32; }',
      world: 'w'
    }), [])
    module.destroy()
    const err = await rejectsWith(runner.run({ key: 'bafyenv', wasm: bytes, func: 'f', args: [] }), RuntimeErrorCode.MISSING_IMPORT, false)
    expect(err.data).toEqual({ imports: ['ipvm:test/env'] })
  })

  it('rejects bytes that are not Wasm as not retryable', async () => {
    await rejectsWith(runner.run({ key: 'bafyjunk', wasm: new TextEncoder().encode('not wasm'), func: 'f', args: [] }),
      RuntimeErrorCode.INVALID_WASM, false)
    const broken = (await buildTestComponent()).slice(0, 200)
    await rejectsWith(runner.run({ key: 'bafybroken', wasm: broken, func: 'f', args: [] }), RuntimeErrorCode.INVALID_WASM, false)
  })

  it('serves many calls in flight with the right results', async () => {
    const calls = Array.from({ length: 300 }, async (_, i) => i % 2 === 0
      ? expect(await call('add_one', [i])).toBe(i + 1)
      : expect(await call('join_strings', [`n${i}`, '!'])).toBe(`n${i}!`))
    await Promise.all(calls)
  })
})
