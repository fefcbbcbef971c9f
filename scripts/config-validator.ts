// Writes src/config/config-validator.generated.ts: the validator of schemas/config.json, compiled
// by ajv ahead of time (standalone code), so that a start does not spend ~150 ms compiling it.
// Run it after changing schemas/config.json: `npm run generate`; a unit test fails while the
// file is out of date.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import standaloneModule from 'ajv/dist/standalone/index.js'

const root = new URL('../', import.meta.url)
export const CONFIG_VALIDATOR_FILE = fileURLToPath(new URL('src/config/config-validator.generated.ts', root))

const HEADER = `/* eslint-disable */
// Generated from schemas/config.json by scripts/config-validator.ts (\`npm run generate\`): do not edit.
// @ts-nocheck
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
`

/** The source of the generated validator module (default export: an ajv ValidateFunction, every error listed). */
export function configValidatorSource (): string {
  const schema = JSON.parse(readFileSync(new URL('schemas/config.json', root), 'utf8')) as object
  // the options of the validator the node compiled at start before (src/config/load.ts)
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true, esm: true } })
  const standalone = ((standaloneModule as unknown as { default?: typeof standaloneModule }).default ?? standaloneModule) as unknown as (ajv: Ajv, validate: unknown) => string
  // ajv's ES module output still `require`s its runtime helpers: the header gives it a require
  return HEADER + standalone(ajv, ajv.compile(schema)).replace(/^"use strict";\s*/, '') + '\n'
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_VALIDATOR_FILE, configValidatorSource())
}
