import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { packageRoot, readPackageJson } from '../util/package.js'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type JsonObject = { [k: string]: Json }

export interface ContentDescriptor { name: string, schema: JsonObject, required?: boolean, description?: string, summary?: string }
export interface MethodObject { name: string, params: ContentDescriptor[], result?: ContentDescriptor, paramStructure?: 'by-name' | 'by-position' | 'either', [k: string]: unknown }
export interface OpenRpcDocument { openrpc: string, info: JsonObject, methods: MethodObject[], components?: { schemas?: Record<string, JsonObject>, [k: string]: unknown }, [k: string]: unknown }

export interface ValidationIssue { path: string, message: string }

/** Most issues a refusal lists; the message says how many more there were. */
export const MAX_ISSUES = 100
/** Longest path or message of an issue, in characters (keys and values come from the client). */
const MAX_ISSUE_TEXT = 200

interface ParamValidator {
  descriptor: ContentDescriptor
  /** Stops at the first error: linear in the value, whatever is wrong with it; compiled on the method's first call. */
  validate: () => ValidateFunction
  /** Collects every error, to list them; only run on small values (see `validateParams`), compiled when first needed. */
  explain: () => ValidateFunction
}

const SCHEMA_REF = /^\.\/schemas\/([\w.-]+)\.json(#.*)?$/

/**
 * The API contract: `api.json` (which refers to `./schemas/*.json`) and the schemas.
 * - `document` is self-contained (schemas inlined under `components.schemas`): what `rpc.discover` returns;
 * - `validateParams` / `validateResult` check a method's input and output with ajv validators,
 *   each compiled on its first use (compiling them all took ~340 ms of every start).
 *
 * Params are checked by a validator that stops at the first error, which is linear in the
 * value. ajv's `allErrors` mode is not: on the workflow schema it took 0.6 s for 100 000
 * errors and 48 s for a million (an 8 MiB frame of bad arguments), so the validator that
 * lists every error only runs on small params, after the first has failed.
 */
export class OpenRpc {
  readonly source: OpenRpcDocument
  private readonly schemas: Record<string, JsonObject>
  private bundled?: OpenRpcDocument
  private ajvAll?: Ajv
  private ajvFirstError?: Ajv
  private readonly params = new Map<string, ParamValidator[]>()
  private readonly results = new Map<string, () => ValidateFunction>()

  constructor (source: OpenRpcDocument = readPackageJson<OpenRpcDocument>('api.json'), schemas: Record<string, JsonObject> = readSchemas()) {
    this.source = source
    this.schemas = schemas

    for (const method of source.methods) {
      this.params.set(method.name, method.params.map(descriptor => {
        const schema = ajvRefs(descriptor.schema) as JsonObject
        let validate: ValidateFunction | undefined
        let explain: ValidateFunction | undefined
        return { descriptor, validate: () => (validate ??= this.ajvFirst.compile(schema)), explain: () => (explain ??= this.ajv.compile(schema)) }
      }))
      if (method.result !== undefined) {
        const schema = ajvRefs(method.result.schema) as JsonObject
        let validate: ValidateFunction | undefined
        this.results.set(method.name, () => (validate ??= this.ajv.compile(schema)))
      }
    }
  }

  /** The document with the schemas inlined, made on its first read (what `rpc.discover` returns). */
  get document (): OpenRpcDocument {
    return (this.bundled ??= bundle(this.source, this.schemas))
  }

  /**
   * ajv with every schema, collecting every error (for tests and tools); made on its first use,
   * as is the first-error one params go through, so that a start does not pay for them.
   */
  get ajv (): Ajv {
    return (this.ajvAll ??= createAjv(this.schemas, true))
  }

  private get ajvFirst (): Ajv {
    return (this.ajvFirstError ??= createAjv(this.schemas, false))
  }

  methodNames (): string[] {
    return this.source.methods.map(m => m.name)
  }

  method (name: string): MethodObject | undefined {
    return this.source.methods.find(m => m.name === name)
  }

  /**
   * Checks params (by position or by name) against the method's descriptors and returns
   * them by name, or what is wrong: every error (up to `MAX_ISSUES`) when `explain` is true,
   * else the first. Pass `explain: false` for large params.
   */
  validateParams (name: string, params: unknown, explain = true): { ok: true, value: Record<string, unknown> } | { ok: false, issues: ValidationIssue[] } {
    const descriptors = this.params.get(name) ?? []
    // no params, and none required: nothing to check (`health`, `node`...)
    if ((params === undefined || params === null) && !descriptors.some(d => d.descriptor.required === true)) return { ok: true, value: {} }
    const issues: ValidationIssue[] = []
    const byName: Record<string, unknown> = {}
    if (params === undefined || params === null) {
      // no params: same as []
    } else if (Array.isArray(params)) {
      if (params.length > descriptors.length) issues.push({ path: `/${descriptors.length}`, message: `takes at most ${descriptors.length} param${descriptors.length === 1 ? '' : 's'}, got ${params.length}` })
      descriptors.forEach((d, i) => { if (i < params.length) byName[d.descriptor.name] = params[i] })
    } else if (typeof params === 'object') {
      const known = new Set(descriptors.map(d => d.descriptor.name))
      for (const [key, value] of Object.entries(params)) {
        if (known.has(key)) byName[key] = value
        else issues.push({ path: `/${key}`, message: `unknown param "${key}"` })
      }
    } else {
      issues.push({ path: '', message: 'params must be an array or an object' })
    }
    for (const { descriptor, validate: first, explain: every } of descriptors) {
      const value = byName[descriptor.name]
      if (value === undefined) {
        if (descriptor.required === true) issues.push({ path: `/${descriptor.name}`, message: `missing required param "${descriptor.name}"` })
        continue
      }
      const validate = first()
      if (validate(value)) continue
      const all = explain ? every() : undefined
      const errors = all !== undefined && !all(value) ? all.errors : validate.errors
      issues.push(...toIssues(errors, `/${descriptor.name}`))
    }
    return issues.length === 0 ? { ok: true, value: byName } : { ok: false, issues: issues.slice(0, MAX_ISSUES) }
  }

  validateResult (name: string, result: unknown): ValidationIssue[] {
    const validate = this.results.get(name)?.()
    if (validate === undefined || validate(result)) return []
    return toIssues(validate.errors, '')
  }
}

/**
 * ajv's errors as issues, without repeats, in one pass: at most `MAX_ISSUES`, each path and
 * message cut to a couple of hundred characters (they quote keys the client chose).
 */
export function toIssues (errors: ErrorObject[] | null | undefined, prefix: string): ValidationIssue[] {
  const out: ValidationIssue[] = []
  const seen = new Set<string>()
  for (const e of errors ?? []) {
    if (out.length >= MAX_ISSUES) break
    // `if`/`oneOf` summaries repeat what the specific errors already say
    if (e.keyword === 'if') continue
    const extra = e.keyword === 'additionalProperties'
      ? `: "${String((e.params as { additionalProperty: string }).additionalProperty)}"`
      : e.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.map(v => JSON.stringify(v)).join(', ')}` : ''
    const issue = { path: cut(`${prefix}${e.instancePath}`), message: cut(`${e.message ?? 'is invalid'}${extra}`) }
    const key = `${issue.path}\u0000${issue.message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(issue)
  }
  return out
}

function cut (text: string): string {
  return text.length > MAX_ISSUE_TEXT ? `${text.slice(0, MAX_ISSUE_TEXT)}…` : text
}

function createAjv (schemas: Record<string, JsonObject>, allErrors: boolean): Ajv {
  // the schemas are not checked against JSON Schema's meta-schema at every start (compiling
  // it took ~70 ms): test/unit/rpc/budgets.test.ts checks them
  const ajv = new Ajv({ strict: false, allErrors, validateSchema: false })
  const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => void
  addFormats(ajv)
  for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, `${name}.json`)
  return ajv
}

function readSchemas (): Record<string, JsonObject> {
  const dir = join(packageRoot, 'schemas')
  const out: Record<string, JsonObject> = {}
  for (const file of readdirSync(dir).filter(f => f.endsWith('.json')).sort()) {
    out[file.slice(0, -'.json'.length)] = JSON.parse(readFileSync(join(dir, file), 'utf8')) as JsonObject
  }
  return out
}

/** `./schemas/x.json#/p` -> `x.json#/p`, the ids the schemas are registered under in ajv. */
function ajvRefs (value: Json): Json {
  return mapRefs(value, ref => {
    const m = SCHEMA_REF.exec(ref)
    return m === null ? ref : `${m[1]}.json${m[2] ?? ''}`
  })
}

/** Inlines the schemas into `components.schemas` and points every `$ref` there. */
function bundle (source: OpenRpcDocument, schemas: Record<string, JsonObject>): OpenRpcDocument {
  const toComponent = (name: string, fragment: string | undefined): string => `#/components/schemas/${name}${fragment === undefined || fragment === '#' ? '' : fragment.slice(1)}`
  const componentSchemas: Record<string, JsonObject> = {}
  for (const [name, schema] of Object.entries(schemas)) {
    const { $id: _id, $schema: _schema, ...rest } = schema
    componentSchemas[name] = mapRefs(rest, ref => {
      if (ref.startsWith('#')) return toComponent(name, ref)
      const m = /^([\w.-]+)\.json(#.*)?$/.exec(ref)
      return m === null ? ref : toComponent(m[1], m[2])
    }) as JsonObject
  }
  const { components, ...rest } = source
  const methods = mapRefs(rest.methods as unknown as Json, ref => {
    const m = SCHEMA_REF.exec(ref)
    return m === null ? ref : toComponent(m[1], m[2])
  }) as unknown as MethodObject[]
  return { ...rest, methods, components: { ...(components ?? {}), schemas: { ...(components?.schemas ?? {}), ...componentSchemas } } }
}

function mapRefs (value: Json, fn: (ref: string) => string): Json {
  if (Array.isArray(value)) return value.map(v => mapRefs(v, fn))
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {}
    for (const [k, v] of Object.entries(value)) out[k] = k === '$ref' && typeof v === 'string' ? fn(v) : mapRefs(v, fn)
    return out
  }
  return value
}
