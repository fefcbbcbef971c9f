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

const SCHEMA_REF = /^\.\/schemas\/([\w.-]+)\.json(#.*)?$/

/**
 * The API contract: `api.json` (which refers to `./schemas/*.json`) and the schemas.
 * - `document` is self-contained (schemas inlined under `components.schemas`): what `rpc.discover` returns;
 * - `validateParams` / `validateResult` check a method's input and output with ajv validators compiled once.
 */
export class OpenRpc {
  readonly source: OpenRpcDocument
  readonly document: OpenRpcDocument
  readonly ajv: Ajv
  private readonly params = new Map<string, Array<{ descriptor: ContentDescriptor, validate: ValidateFunction }>>()
  private readonly results = new Map<string, ValidateFunction>()

  constructor (source: OpenRpcDocument = readPackageJson<OpenRpcDocument>('api.json'), schemas: Record<string, JsonObject> = readSchemas()) {
    this.source = source
    this.ajv = new Ajv({ strict: false, allErrors: true })
    const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => void
    addFormats(this.ajv)
    for (const [name, schema] of Object.entries(schemas)) this.ajv.addSchema(schema, `${name}.json`)
    this.document = bundle(source, schemas)

    for (const method of source.methods) {
      this.params.set(method.name, method.params.map(descriptor => ({
        descriptor,
        validate: this.ajv.compile(ajvRefs(descriptor.schema) as JsonObject)
      })))
      if (method.result !== undefined) this.results.set(method.name, this.ajv.compile(ajvRefs(method.result.schema) as JsonObject))
    }
  }

  methodNames (): string[] {
    return this.source.methods.map(m => m.name)
  }

  method (name: string): MethodObject | undefined {
    return this.source.methods.find(m => m.name === name)
  }

  /**
   * Checks params (by position or by name) against the method's descriptors and returns
   * them by name, or the list of what is wrong.
   */
  validateParams (name: string, params: unknown): { ok: true, value: Record<string, unknown> } | { ok: false, issues: ValidationIssue[] } {
    const descriptors = this.params.get(name) ?? []
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
    for (const { descriptor, validate } of descriptors) {
      const value = byName[descriptor.name]
      if (value === undefined) {
        if (descriptor.required === true) issues.push({ path: `/${descriptor.name}`, message: `missing required param "${descriptor.name}"` })
        continue
      }
      if (!validate(value)) issues.push(...toIssues(validate.errors, `/${descriptor.name}`))
    }
    return issues.length === 0 ? { ok: true, value: byName } : { ok: false, issues }
  }

  validateResult (name: string, result: unknown): ValidationIssue[] {
    const validate = this.results.get(name)
    if (validate === undefined || validate(result)) return []
    return toIssues(validate.errors, '')
  }
}

export function toIssues (errors: ErrorObject[] | null | undefined, prefix: string): ValidationIssue[] {
  const out: ValidationIssue[] = []
  for (const e of errors ?? []) {
    // `if`/`oneOf` summaries repeat what the specific errors already say
    if (e.keyword === 'if') continue
    const extra = e.keyword === 'additionalProperties'
      ? `: "${String((e.params as { additionalProperty: string }).additionalProperty)}"`
      : e.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.map(v => JSON.stringify(v)).join(', ')}` : ''
    const issue = { path: `${prefix}${e.instancePath}`, message: `${e.message ?? 'is invalid'}${extra}` }
    if (!out.some(o => o.path === issue.path && o.message === issue.message)) out.push(issue)
  }
  return out
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
