import { describe, expect, it } from 'vitest'
import wabtInit from 'wabt'
import { readComponentSignature } from '../../../src/runtime/values/component-types.js'
import { readCoreModule } from '../../../src/runtime/binary/core-module.js'
import { FAILED_EXPORT, instrumentModule, LIMIT_EXPORT, MEMORY_EXPORT } from '../../../src/runtime/binary/instrument.js'
import { restoreSnapshot, takeSnapshot } from '../../../src/runtime/workers/snapshot.js'
import { witTypeToString } from '../../../src/runtime/values/wit-types.js'
import { buildTestComponent, buildTestCoreModule, buildTestEmbeddedModule } from '../../utils/wasm.js'

async function wat (source: string): Promise<Uint8Array> {
  const module = (await wabtInit()).parseWat('inline.wat', source, { bulk_memory: true, reference_types: true })
  try {
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

function instantiate (bytes: Uint8Array): Record<string, WebAssembly.ExportValue> {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {}).exports
}

describe('component signatures', () => {
  it('reads the root exports with their types, including types used from imported interfaces', async () => {
    const { functions, imports } = readComponentSignature(await buildTestComponent())
    const signature = (name: string): string | undefined => {
      const fn = functions.find(f => f.name === name)
      return fn && `(${fn.params.map(p => `${p.name}: ${witTypeToString(p.type)}`).join(', ')}) -> ${fn.results.map(witTypeToString).join(', ')}`
    }
    expect(signature('add-one')).toBe('(a: s32) -> s32')
    expect(signature('join-strings')).toBe('(a: string, b: string) -> string')
    expect(signature('now')).toBe('() -> record { seconds: u64, milliseconds: u32, nanoseconds: u32 }')
    expect(signature('say')).toBe('(msg: string) -> ')
    expect(signature('echo-variant')).toBe('(v: variant { circle(u32), label(string), empty }) -> variant { circle(u32), label(string), empty }')
    expect(signature('echo-result')).toBe('(r: result<u32, string>) -> result<u32, string>')
    expect(signature('echo-map')).toBe('(m: list<tuple<string, string>>) -> list<tuple<string, string>>')
    expect(signature('check')).toBe('(ok: bool) -> result')
    expect(imports).toEqual(['wasi:logging/logging', 'homestar:host/helpers@0.1.1'])
  })

  it('tells core modules with embedded component metadata from plain ones', async () => {
    expect(readCoreModule(await buildTestEmbeddedModule()).hasComponentType).toBe(true)
    const core = readCoreModule(await buildTestCoreModule())
    expect(core.hasComponentType).toBe(false)
    expect(core.functions.find(f => f.name === 'add_i64')).toEqual({ name: 'add_i64', params: ['i64', 'i64'], results: ['i64'] })
    expect(core.memory).toEqual({ imported: false, initialPages: 1, memory64: false })
  })
})

describe('core module instrumentation', () => {
  it('caps memory.grow through an exported limit and flags the failure', async () => {
    const result = instrumentModule(await buildTestCoreModule())
    expect(result).toMatchObject({ guarded: true, resettable: true })
    const exports = instantiate(result.bytes)
    const limit = exports[LIMIT_EXPORT] as WebAssembly.Global
    const failed = exports[FAILED_EXPORT] as WebAssembly.Global
    expect((exports.add_one as (a: number) => number)(41)).toBe(42)
    expect((exports.grow as (p: number) => number)(1)).toBe(1)
    limit.value = 4
    expect((exports.grow as (p: number) => number)(2)).toBe(2)
    expect(() => (exports.grow as (p: number) => number)(1)).toThrow(WebAssembly.RuntimeError)
    expect(failed.value).toBe(1)
    expect((exports.memory as WebAssembly.Memory).buffer.byteLength).toBe(4 * 65536)
  })

  it('leaves grows beyond the module maximum to return -1 as usual', async () => {
    const bytes = await wat('(module (memory 1 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))')
    const exports = instantiate(instrumentModule(bytes).bytes)
    expect((exports.grow as (p: number) => number)(5)).toBe(-1)
    expect((exports[FAILED_EXPORT] as WebAssembly.Global).value).toBe(0)
  })

  it('exports mutable globals (and a hidden memory) so an instance can be reset to its initial state', async () => {
    const bytes = await wat(`(module (memory 1) (global $g (mut i32) (i32.const 5))
      (func (export "bump") (result i32)
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
        (i32.add (i32.mul (global.get $g) (i32.const 100)) (i32.load (i32.const 0)))))`)
    const result = instrumentModule(bytes)
    expect(result).toMatchObject({ guarded: false, resettable: true })
    const instance = new WebAssembly.Instance(new WebAssembly.Module(result.bytes as Uint8Array<ArrayBuffer>), {})
    expect(instance.exports[MEMORY_EXPORT]).toBeInstanceOf(WebAssembly.Memory)
    const snapshot = takeSnapshot([instance])
    expect(snapshot).toBeDefined()
    const bump = instance.exports.bump as () => number
    expect(bump()).toBe(601)
    expect(bump()).toBe(702)
    expect(restoreSnapshot(snapshot as NonNullable<typeof snapshot>)).toBe(true)
    expect(bump()).toBe(601)
  })

  it('does not reset modules that change their tables or drop segments', async () => {
    const tableSet = await wat(`(module (table 2 funcref) (func $f) (elem declare func $f)
      (func (export "set") (table.set (i32.const 0) (ref.func $f))))`)
    expect(instrumentModule(tableSet).resettable).toBe(false)
    const dataDrop = await wat('(module (memory 1) (data "x") (func (export "drop") (data.drop 0)))')
    expect(instrumentModule(dataDrop).resettable).toBe(false)
  })

  it('leaves modules it cannot read untouched, and does not instrument twice', async () => {
    // type () -> (), one function whose body uses an opcode outside the known sets (0xfb prefix)
    const unknown = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1,
      10, 6, 1, 4, 0, 0xfb, 0x00, 0x0b])
    const result = instrumentModule(unknown)
    expect(result).toMatchObject({ guarded: false, resettable: false })
    expect(result.bytes).toBe(unknown)
    expect(result.note).toMatch(/unsupported opcode/)
    const once = instrumentModule(await buildTestCoreModule()).bytes
    expect(instrumentModule(once)).toMatchObject({ guarded: false, resettable: false, note: 'already instrumented' })
  })
})
