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

async function watToBinary (file: string, edit: (text: string) => string = text => text): Promise<Uint8Array> {
  wabt ??= wabtInit()
  const module = (await wabt).parseWat(file, edit(await readFile(fixture(file), 'utf8')), { bulk_memory: true })
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
let homestar030: Promise<Uint8Array> | undefined

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

/**
 * The test component importing Homestar 0.3.0's host interface, `homestar:host/helpers@0.0.1`
 * (the same functions as 0.1.1): the Homestar 0.3.0 binary refuses a component importing
 * `@0.1.1`. This node takes either (it matches host imports without their version).
 */
export async function buildHomestar030Component (): Promise<Uint8Array> {
  const edit = (text: string): string => text.replaceAll('homestar:host/helpers@0.1.1', 'homestar:host/helpers@0.0.1').replaceAll('homestar:host@0.1.1', 'homestar:host@0.0.1')
  homestar030 ??= (async () => componentNew(await componentEmbed({
    binary: await watToBinary('test-component.wat', edit),
    witSource: edit(await readFile(fixture('test-component.wit'), 'utf8')),
    world: 'test'
  }), []))()
  return homestar030
}

/** A plain core module exporting count, add_one, add_i64, to_f32, div, trap, burn, spin, grow and fill. */
export async function buildTestCoreModule (): Promise<Uint8Array> {
  core ??= watToBinary('test-core.wat')
  return core
}
