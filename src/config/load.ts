import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { readPackageJson } from '../util/package.js'
import { ConfigError, ConfigErrorCode } from './errors.js'
import { defaultConfig, type IpvmConfig, type PartialConfig } from './options.js'
import compiledValidator from './config-validator.generated.js'

interface JsonSchema { type?: string, enum?: unknown[], properties?: Record<string, JsonSchema>, items?: JsonSchema }

type ConfigSchema = JsonSchema & Record<string, unknown>

let cached: { schema: ConfigSchema, validate: ValidateFunction } | undefined

/**
 * The settings schema (read on first use, not at import) and its validator, compiled from it
 * ahead of time by ajv (`npm run generate`: compiling it took ~150 ms of every start).
 */
function configSchema (): { schema: ConfigSchema, validate: ValidateFunction } {
  cached ??= { schema: readPackageJson<ConfigSchema>('schemas/config.json'), validate: compiledValidator as unknown as ValidateFunction }
  return cached
}

export const ENV_PREFIX = 'IPVM_'

export interface ConfigSources {
  /** A TOML file's path. */
  file?: string
  /** Environment variables; only `IPVM_<SECTION>__<KEY>` ones are read. */
  env?: NodeJS.ProcessEnv
  /** Settings from command-line flags. */
  flags?: PartialConfig
}

/**
 * Builds the settings: defaults < TOML file < environment < flags. Every source is
 * validated on its own, so an error names the key and where it came from.
 */
export function loadConfig (sources: ConfigSources = {}): IpvmConfig {
  const layers: Array<[string, PartialConfig]> = []
  if (sources.file !== undefined) layers.push([sources.file, readTomlFile(sources.file)])
  if (sources.env !== undefined) layers.push(['the environment', configFromEnv(sources.env)])
  if (sources.flags !== undefined) layers.push(['the command line', sources.flags])

  let config: IpvmConfig = structuredClone(defaultConfig)
  for (const [origin, layer] of layers) {
    check(layer, origin)
    config = merge(config, layer)
  }
  if (config.node.key_file === '') config.node.key_file = resolve(config.node.data_dir, 'node.key')
  return config
}

export function readTomlFile (file: string): PartialConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.FILE, `cannot read config file ${file}: ${(err as Error).message}`, { file }, { cause: err })
  }
  try {
    return parseToml(text)
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.FILE, `config file ${file} is not valid TOML: ${(err as Error).message}`, { file }, { cause: err })
  }
}

/** `IPVM_RPC__PORT=1337` -> `{ rpc: { port: 1337 } }`, typed by the schema. */
export function configFromEnv (env: NodeJS.ProcessEnv): PartialConfig {
  const out: Record<string, Record<string, unknown>> = {}
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue
    const parts = name.slice(ENV_PREFIX.length).toLowerCase().split('__')
    if (parts.length !== 2) continue
    const [section, key] = parts as [string, string]
    const keySchema = configSchema().schema.properties?.[section]?.properties?.[key]
    if (keySchema === undefined) {
      throw unknownKey(`${section}.${key}`, `environment variable ${name}`)
    }
    out[section] ??= {}
    out[section][key] = coerce(raw, keySchema, name)
  }
  return out
}

function coerce (raw: string, keySchema: JsonSchema, name: string): unknown {
  const type = keySchema.type ?? (typeof keySchema.enum?.[0] === 'string' ? 'string' : undefined)
  switch (type) {
    case 'integer':
    case 'number': {
      const n = Number(raw.trim())
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(ConfigErrorCode.INVALID_VALUE, `environment variable ${name} must be a number, got "${raw}"`, { key: name })
      return n
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(v)) return true
      if (['false', '0', 'no', 'off'].includes(v)) return false
      throw new ConfigError(ConfigErrorCode.INVALID_VALUE, `environment variable ${name} must be true or false, got "${raw}"`, { key: name })
    }
    case 'array': {
      const v = raw.trim()
      if (v.startsWith('[')) {
        try { return JSON.parse(v) } catch { throw new ConfigError(ConfigErrorCode.INVALID_VALUE, `environment variable ${name} is not a JSON array`, { key: name }) }
      }
      return v === '' ? [] : v.split(',').map(s => s.trim()).filter(s => s !== '')
    }
    default:
      return raw
  }
}

function check (layer: PartialConfig, origin: string): void {
  const { validate } = configSchema()
  if (validate(layer)) return
  const errors = validate.errors ?? []
  const first = errors.find(e => e.keyword === 'additionalProperties') ?? errors[0]
  if (first === undefined) return
  throw describe(first, origin)
}

function describe (err: ErrorObject, origin: string): ConfigError {
  const path = err.instancePath.split('/').filter(Boolean).join('.')
  if (err.keyword === 'additionalProperties') {
    const extra = String((err.params as { additionalProperty: string }).additionalProperty)
    return unknownKey(path === '' ? extra : `${path}.${extra}`, origin)
  }
  const key = path === '' ? '(top level)' : path
  return new ConfigError(ConfigErrorCode.INVALID_VALUE, `invalid value for ${key} in ${origin}: ${key} ${err.message ?? 'is invalid'}`, { key, origin })
}

function unknownKey (key: string, origin: string): ConfigError {
  const suggestion = closestKey(key)
  const hint = suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : ''
  return new ConfigError(ConfigErrorCode.UNKNOWN_KEY, `unknown configuration key "${key}" in ${origin}${hint}`, { key, origin, ...(suggestion !== undefined ? { suggestion } : {}) })
}

/** All valid `section.key` names. */
export function configKeys (): string[] {
  const keys: string[] = []
  for (const [section, s] of Object.entries(configSchema().schema.properties ?? {})) {
    for (const key of Object.keys(s.properties ?? {})) keys.push(`${section}.${key}`)
  }
  return keys
}

function closestKey (key: string): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1
  for (const candidate of [...configKeys(), ...Object.keys(configSchema().schema.properties ?? {})]) {
    const d = editDistance(key, candidate)
    if (d < bestDistance) { best = candidate; bestDistance = d }
  }
  return best
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}

function merge (base: IpvmConfig, layer: PartialConfig): IpvmConfig {
  const out = structuredClone(base) as unknown as Record<string, Record<string, unknown>>
  for (const [section, values] of Object.entries(layer)) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (value !== undefined) out[section][key] = value
    }
  }
  return out as unknown as IpvmConfig
}
