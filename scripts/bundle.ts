// Bundles the `ipvm` command, the Wasm worker and the Wasm preparation process into
// dist/cli/main.js, dist/cli/worker.js and dist/cli/prepare-process.js
// (part of `npm run build`, after tsc), with what they load later (the node for the client
// commands, libp2p once JSON-RPC answers) in chunks beside them: a few files to load instead
// of some 1 500 modules, which cuts the time from spawn to a node answering several times.
// tsc's output stays beside them for the library entry points (dist/index.js, dist/client/).
// - the worker and the preparation process sit beside main.js, where
//   src/runtime/workers/worker-spawn.ts and preparer.ts look for them;
// - api.json, schemas/ and ui/ are found from the package root, two folders up, as from dist/x/;
// - packages with native code or files of their own to load (LevelDB, the Wasm toolchain) stay
//   outside, loaded from node_modules.
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../', import.meta.url))
const outdir = join(root, 'dist', 'cli')

// the chunks of an earlier build (their names change with their content)
for (const f of readdirSync(outdir).filter(f => f.startsWith('chunk-'))) rmSync(join(outdir, f))

await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', worker: 'src/runtime/workers/worker.ts', 'prepare-process': 'src/runtime/workers/prepare-process.ts' },
  outdir,
  // code loaded later (libp2p, the node for the client commands) in chunks of its own, read when needed
  splitting: true,
  // beside main.js, so that paths relative to a module (the package root, the worker) stay the same
  chunkNames: 'chunk-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['classic-level', '@bytecodealliance/*'],
  // CommonJS packages inside an ES module bundle call require() for Node's own modules
  banner: { js: "import { createRequire as __ipvmCreateRequire } from 'node:module'; const require = __ipvmCreateRequire(import.meta.url);" },
  // no whitespace nor comments: a smaller source to keep in memory, and one V8 stores in one
  // byte a character (a single non-Latin-1 character in a comment doubles it); names are kept,
  // and `node --enable-source-maps` maps stack traces back to src/
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning'
})
