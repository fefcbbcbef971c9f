import { readFileSync } from 'node:fs'
import { parse as parseToml } from 'smol-toml'
import { describe, expect, it } from 'vitest'
import { settingsToml } from '../../../src/cli/commands/init.js'
import { defaultConfig } from '../../../src/config/index.js'

const schema = JSON.parse(readFileSync(new URL('../../../schemas/config.json', import.meta.url), 'utf8')) as { properties: Record<string, { properties: Record<string, unknown> }> }
const schemaKeys = Object.entries(schema.properties).flatMap(([section, s]) => Object.keys(s.properties).map(k => `${section}.${k}`)).sort()

/** `section.key` of every setting the file names, set or commented out (`# key = …`). */
function namedKeys (toml: string): string[] {
  const keys: string[] = []
  let section = ''
  for (const line of toml.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line)
    if (header !== null) section = header[1]
    const entry = /^#? ?(\w+) = /.exec(line)
    if (entry !== null && section !== '') keys.push(`${section}.${entry[1]}`)
  }
  return keys.sort()
}

describe('ipvm init', () => {
  const toml = settingsToml('./data')

  it('writes every setting of schemas/config.json, once each', () => {
    expect(namedKeys(toml)).toEqual(schemaKeys)
  })

  it('writes the defaults: the file parses to the default settings (but for the data folder)', () => {
    const parsed = parseToml(toml) as Record<string, Record<string, unknown>>
    for (const [section, values] of Object.entries(parsed)) {
      for (const [key, value] of Object.entries(values)) {
        const expected = key === 'data_dir' ? './data' : (defaultConfig as unknown as Record<string, Record<string, unknown>>)[section][key]
        expect({ key: `${section}.${key}`, value }).toEqual({ key: `${section}.${key}`, value: expected })
      }
    }
  })
})
