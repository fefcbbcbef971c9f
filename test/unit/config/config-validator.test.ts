import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_VALIDATOR_FILE, configValidatorSource } from '../../../scripts/config-validator.js'
import { loadConfig } from '../../../src/config/index.js'

describe('the settings validator compiled ahead of time', () => {
  it('is the one ajv compiles from schemas/config.json now (after changing the schema: npm run generate)', () => {
    expect(readFileSync(CONFIG_VALIDATOR_FILE, 'utf8')).toBe(configValidatorSource())
  })

  it('checks what the schema says, including lengths counted in characters, not UTF-16 units', () => {
    // workflow keys and numbers
    expect(() => loadConfig({ flags: { workflow: { concurrency: 0 } } })).toThrow(/workflow\.concurrency/)
    // the schema's only maxLength (128), checked by ajv's runtime helper the generated code requires
    expect(() => loadConfig({ flags: { network: { trusted_peers: ['😀'.repeat(128)] } } })).not.toThrow()
    expect(() => loadConfig({ flags: { network: { trusted_peers: ['😀'.repeat(129)] } } })).toThrow(/network\.trusted_peers/)
  })
})
