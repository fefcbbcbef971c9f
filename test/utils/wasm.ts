import { readFile } from 'node:fs/promises'
import wabtInit from 'wabt'
import { componentEmbed, componentNew } from '@bytecodealliance/jco-transpile/wasm-tools'

/**
 * Test Wasm, built from the WAT/WIT sources in test/fixtures/wasm at test time:
 * - the test component (world `ipvm:test/test`, see test-component.wit);
 * - the same core module with the component-type section embedded but not
 *   componentized (the shape of Homestar's example_test.wasm);
 * - a plain core module with numeric exports (test-core.wat).
 * Results are cached in memory for the life of the test process.
 */
const fixture = (name: string): URL => new URL(`../fixtures/wasm/${name}`, import.meta.url)

let wabt: ReturnType<typeof wabtInit> | undefined

async function watToBinary (file: string): Promise<Uint8Array> {
  wabt ??= wabtInit()
  const module = (await wabt).parseWat(file, await readFile(fixture(file), 'utf8'), { bulk_memory: true })
  try {
    module.validate()
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

let embedded: Promise<Uint8Array> | undefined
let component: Promise<Uint8Array> | undefined
let core: Promise<Uint8Array> | undefined

/** The test component's core module with its WIT embedded (a `component-type` custom section). */
export async function buildTestEmbeddedModule (): Promise<Uint8Array> {
  embedded ??= (async () => componentEmbed({
    binary: await watToBinary('test-component.wat'),
    witSource: await readFile(fixture('test-component.wit'), 'utf8'),
    world: 'test'
  }))()
  return embedded
}

/** The test component (see test/fixtures/wasm/test-component.wit for its exports). */
export async function buildTestComponent (): Promise<Uint8Array> {
  component ??= (async () => componentNew(await buildTestEmbeddedModule(), []))()
  return component
}

/** A plain core module exporting count, add_one, add_i64, to_f32, div, trap, spin, grow and fill. */
export async function buildTestCoreModule (): Promise<Uint8Array> {
  core ??= watToBinary('test-core.wat')
  return core
}
