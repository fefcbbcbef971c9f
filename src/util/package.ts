import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The package's root folder: two levels above this file in both `src/util` and `dist/util`. */
export const packageRoot: string = fileURLToPath(new URL('../../', import.meta.url))

/** Reads a JSON file shipped with the package (`api.json`, `schemas/*.json`, `package.json`). */
export function readPackageJson<T = unknown> (relativePath: string): T {
  return JSON.parse(readFileSync(new URL(`../../${relativePath}`, import.meta.url), 'utf8')) as T
}

export const packageVersion: string = readPackageJson<{ version: string }>('package.json').version
