// Bundles the `ipvm` command and the Wasm worker into dist/cli/main.js and dist/cli/worker.js
// (part of `npm run build`, after tsc): one file each to load instead of some 1 500 modules,
// which halves the time from spawn to a node answering. tsc's output stays beside them for
// the library entry points (dist/index.js, dist/client/).
// - the worker sits beside main.js, where src/runtime/workers/worker-spawn.ts looks for it;
// - api.json, schemas/ and ui/ are found from the package root, two folders up, as from dist/x/;
// - packages with native code or files of their own to load (LevelDB, the Wasm toolchain) stay
//   outside, loaded from node_modules.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))

export const BUNDLE_EXTERNAL = ['classic-level', '@bytecodealliance/*']

await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts', worker: 'src/runtime/workers/worker.ts' },
  outdir: 'dist/cli',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: BUNDLE_EXTERNAL,
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
