/**
 * Builds the examples from their sources and writes them into `examples/`:
 * - math.wasm, a core module, from math.wat;
 * - image.wasm, a component, from image.wat (its core module) and image.wit (its world);
 * - the example workflows in Homestar's JSON, compiled from the authoring form below, so that
 *   their `ipfs://` CIDs are those of the Wasm files beside them.
 * The build is deterministic: a test rebuilds everything and checks it equals the committed files.
 *
 *   npm run examples:build
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'
import { componentEmbed, componentNew } from '@bytecodealliance/jco-transpile/wasm-tools'
import { parseJson, type IpldMap } from '../../src/ipld/index.js'
import { compileWorkflow } from '../../src/cli/authoring.js'

const source = (name: string): URL => new URL(name, import.meta.url)

async function watToBinary (file: string): Promise<Uint8Array> {
  const wabt = await wabtInit()
  const module = wabt.parseWat(file, await readFile(source(file), 'utf8'), { bulk_memory: true })
  try {
    module.validate()
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

/** The examples' Wasm files by name, built from the sources. */
export async function buildExampleWasm (): Promise<Record<string, Uint8Array>> {
  const math = await watToBinary('math.wat')
  const embedded = await componentEmbed({
    binary: await watToBinary('image.wat'),
    witSource: await readFile(source('image.wit'), 'utf8'),
    world: 'image'
  })
  return { 'math.wasm': math, 'image.wasm': await componentNew(embedded, []) }
}

const math = (name: string, func: string, args: unknown[]): object => ({ name, wasm: 'math.wasm', func, args })
const image = (name: string, func: string, args: unknown[]): object => ({ name, wasm: 'image.wasm', func, args })
const ok = (name: string): object => ({ 'await/ok': name })

/** A 4 x 2 RGB picture: red, green, blue, white / black, mid-gray, yellow, cyan. */
const PIXELS = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128, 255, 255, 0, 0, 255, 255]).toString('base64')

/** The example workflows in the authoring form; README and examples/README.md give their results. */
export const EXAMPLE_WORKFLOWS: Record<string, object[]> = {
  'add-one.json': [math('answer', 'add_one', [41])],
  'chain.json': [math('one', 'add_one', [1]), math('two', 'double', [ok('one')]), math('three', 'add_one', [ok('two')])],
  'fan-out.json': [
    math('start', 'add_one', [4]),
    math('doubled', 'double', [ok('start')]),
    math('plus_one', 'add_one', [ok('start')]),
    math('sum', 'add', [ok('doubled'), ok('plus_one')])
  ],
  'image.json': [
    image('gray', 'grayscale', [{ '/': { bytes: PIXELS } }]),
    image('mask', 'threshold', [ok('gray'), 128]),
    image('level', 'brightness', [ok('gray')])
  ],
  'retry.json': [
    math('fine', 'add_one', [1]),
    math('broken', 'divide', [10, 0]),
    math('after', 'add_one', [ok('broken')])
  ],
  'sleep.json': [
    math('before', 'add_one', [1]),
    { name: 'nap', sleep: { duration_ms: 2000, value: ok('before') } },
    math('after', 'double', [ok('nap')])
  ]
}

/** The example workflows as Homestar's JSON (2-space indented), by file name. */
export async function buildExampleWorkflows (): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [name, tasks] of Object.entries(EXAMPLE_WORKFLOWS)) {
    const file = fileURLToPath(new URL(`../${name}`, import.meta.url))
    const compiled = await compileWorkflow(parseJson(JSON.stringify({ tasks })) as IpldMap, file)
    // one task a line; no floats and no large integers in these, so JSON.parse keeps every value
    const parsed = JSON.parse(compiled.text) as { tasks: unknown[] }
    out[name] = `{"tasks": [\n${parsed.tasks.map(t => `  ${JSON.stringify(t)}`).join(',\n')}\n]}\n`
  }
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, bytes] of Object.entries(await buildExampleWasm())) {
    const out = new URL(`../${name}`, import.meta.url)
    await writeFile(out, bytes)
    process.stdout.write(`wrote ${fileURLToPath(out)} (${bytes.byteLength} bytes)\n`)
  }
  // after the Wasm: the workflows name it by CID
  for (const [name, text] of Object.entries(await buildExampleWorkflows())) {
    const out = new URL(`../${name}`, import.meta.url)
    await writeFile(out, text)
    process.stdout.write(`wrote ${fileURLToPath(out)}\n`)
  }
}
