import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The modules `ipvm` loads before it runs any command (`--version`, `--help`, the client
 * commands): what `src/cli/main.ts` imports statically, followed to the end. What only one
 * command needs (the node, the workflow compiler) is imported when that command runs.
 */
async function loadedAtStart (): Promise<Set<string>> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/cli/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    outdir: 'unused',
    external: ['classic-level', '@bytecodealliance/*'],
    logLevel: 'silent'
  })
  const inputs = result.metafile.inputs
  const seen = new Set<string>(['src/cli/main.ts'])
  const queue = ['src/cli/main.ts']
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imported of inputs[file]?.imports ?? []) {
      if (imported.kind !== 'import-statement' && imported.kind !== 'require-call') continue
      if (seen.has(imported.path)) continue
      seen.add(imported.path)
      queue.push(imported.path)
    }
  }
  return seen
}

describe('ipvm start-up', () => {
  it('loads neither the node (store, metrics, network, runtime) nor LevelDB, prom-client, ajv, libp2p or its key code before a command runs', async () => {
    const loaded = [...await loadedAtStart()]
    expect(loaded).toContain('src/cli/index.ts')
    expect(loaded).toContain('src/client/index.ts')
    const heavy = loaded.filter(path =>
      /^src\/(node|store|metrics|network|runtime|workflow|dashboard|rpc|compute|resources)\//.test(path) ||
      /node_modules\/(level|classic-level|prom-client|ajv|libp2p|@libp2p\/(tcp|kad-dht|gossipsub|crypto|peer-id)|@noble\/curves)\//.test(path))
    expect(heavy).toEqual([])
  })
})
