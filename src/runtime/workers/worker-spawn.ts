import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker, type ResourceLimits } from 'node:worker_threads'

/**
 * Starts a runtime worker. From the compiled package the worker is `worker.js`
 * next to this file. When this file runs as TypeScript source (tests, tsx), the
 * worker is `worker.ts`: on Node 20, `execArgv: ['--import', 'tsx']` does not apply
 * to a worker's entry module ("Unknown file extension .ts"), so a small bootstrap
 * registers tsx's ESM hooks in the worker and then imports `worker.ts`. `clock` is the
 * memory of the worker's `BusyClock`.
 */
export function spawnRuntimeWorker (resourceLimits: ResourceLimits | undefined, clock: SharedArrayBuffer): Worker {
  const limits = { workerData: { clock } satisfies RuntimeWorkerData, ...(resourceLimits !== undefined ? { resourceLimits } : {}) }
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), limits)
  const entry = new URL('./worker.ts', import.meta.url).href
  const bootstrap = `import(${JSON.stringify(tsxApiUrl())}).then(tsx => { tsx.register(); return import(${JSON.stringify(entry)}) })`
  return new Worker(bootstrap, { eval: true, ...limits })
}

/** What a runtime worker is given at start: the memory of its `BusyClock`. */
export interface RuntimeWorkerData {
  clock: SharedArrayBuffer
}

let tsxApi: string | undefined

/** URL of tsx's ESM API module (`tsx/esm/api`, import condition). */
function tsxApiUrl (): string {
  if (tsxApi === undefined) {
    const packageJson = createRequire(import.meta.url).resolve('tsx/package.json')
    const exports = (JSON.parse(readFileSync(packageJson, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports
    tsxApi = pathToFileURL(join(dirname(packageJson), exports['./esm/api'].import.default)).href
  }
  return tsxApi
}
