import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * The shape of `src/`, checked from the code's own imports (type-only ones included, as
 * TypeScript reads them): no import cycle between files, subsystems that use each other only
 * through their `index.ts`, and subsystems that depend on each other in one direction only.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/** Folders that are libraries of small helpers rather than subsystems: any file may import any of theirs. */
const SHARED = new Set(['util'])

/**
 * Deep imports allowed on purpose. The Wasm workers load `runtime/values/*` and must stay
 * lean: they take the IPLD value model alone, not the codecs behind `ipld/index.ts`.
 */
const DEEP_IMPORTS_ALLOWED: Array<{ from: string, to: string }> = [
  { from: 'runtime/values/', to: 'ipld/value.ts' }
]

/** The layers of README's architecture section, top first: a folder imports only from layers below its own. */
const LAYERS: string[][] = [
  ['index.ts', 'polyfill.ts'],
  ['cli'],
  ['node'],
  ['dashboard'],
  ['rpc', 'client'],
  ['compute'],
  ['workflow', 'network', 'resources', 'runtime'],
  ['store'],
  ['metrics'],
  ['ipld', 'config'],
  ['util']
]

function sourceFiles (dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map(f => join(dir, f))
}

/** The files of `src/` each file imports, by path relative to `src/`. */
function importGraph (): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const targets: string[] = []
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue
      const base = resolve(dirname(file), fileName).replace(/\.js$/, '')
      const target = [`${base}.ts`, join(base, 'index.ts')].find(existsSync)
      if (target !== undefined) targets.push(relative(SRC, target))
    }
    graph.set(relative(SRC, file), targets)
  }
  return graph
}

/** Strongly connected components with more than one member (Tarjan), or a file importing itself. */
function cycles (graph: Map<string, string[]>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    indices.set(v, index)
    low.set(v, index)
    index++
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!))
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!indices.has(v)) visit(v)
  return found
}

/** The subsystem a file belongs to: its top folder under `src/` (files at the top are their own). */
function subsystemOf (file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : file
}

describe('the structure of src/', () => {
  const graph = importGraph()

  it('reads every file and its imports', () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(graph.get('node/node.ts')).toContain('workflow/index.ts')
  })

  it('has no import cycle, type-only imports included', () => {
    expect(cycles(graph)).toEqual([])
  })

  it('lets subsystems use each other only through their index.ts', () => {
    const deep: string[] = []
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const from = subsystemOf(file)
        const to = subsystemOf(target)
        if (from === to || SHARED.has(to) || !target.includes('/') || target === `${to}/index.ts`) continue
        if (DEEP_IMPORTS_ALLOWED.some(a => file.startsWith(a.from) && target === a.to)) continue
        deep.push(`${file} -> ${target}`)
      }
    }
    expect(deep).toEqual([])
  })

  it('has every folder in a layer, importing only from the layers below', () => {
    const layerOf = (folder: string): number => LAYERS.findIndex(l => l.includes(folder))
    const wrong: string[] = []
    for (const [file, targets] of graph) {
      const from = subsystemOf(file)
      expect(layerOf(from), `${from} is in no layer`).toBeGreaterThanOrEqual(0)
      for (const target of targets) {
        const to = subsystemOf(target)
        // the polyfill is loaded first by the entry points, from whichever layer they are in
        if (to === from || to === 'polyfill.ts') continue
        if (layerOf(to) <= layerOf(from)) wrong.push(`${file} -> ${target}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('has subsystems that depend on each other in one direction only', () => {
    const folders = new Map<string, string[]>()
    for (const [file, targets] of graph) {
      const from = subsystemOf(file)
      const tos = folders.get(from) ?? []
      for (const t of targets) if (subsystemOf(t) !== from && !tos.includes(subsystemOf(t))) tos.push(subsystemOf(t))
      folders.set(from, tos)
    }
    expect(cycles(folders)).toEqual([])
  })
})
