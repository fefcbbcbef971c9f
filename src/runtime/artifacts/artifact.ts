import type { CoreFunctionExport } from '../binary/core-module.js'
import type { WitFunction } from '../values/wit-types.js'

/**
 * What a Wasm resource becomes once prepared: the serializable description
 * (cached on disk) and the compiled modules (shared with the workers).
 */
export interface ComponentDescription {
  kind: 'component'
  /** The jco bindings, as the body of a function returning `instantiate`. */
  js: string
  /** File names of the core modules, in the order jco asks for them. */
  moduleNames: string[]
  functions: WitFunction[]
  /** WIT export name → name of the function on jco's exports object. */
  jsNames: Record<string, string>
  /** Interfaces the component imports, unversioned (`wasi:logging/logging`). */
  imports: string[]
  /** Largest initial size of a memory the core modules define, in 64 KiB pages. */
  initialPages: number
  /** Core modules whose memory could not be guarded (see binary/instrument.ts), with the reason. */
  unguarded: Record<string, string>
  /** Every core module can be reset, so an instance can serve several calls. */
  resettable: boolean
}

export interface CoreDescription {
  kind: 'core'
  functions: CoreFunctionExport[]
  /** Module/field of each import (a plain core module gets no imports from this host). */
  imports: string[]
  initialPages: number
  unguarded: Record<string, string>
  resettable: boolean
}

export type ArtifactDescription = ComponentDescription | CoreDescription

export interface Artifact {
  description: ArtifactDescription
  /** Compiled core modules by file name (a core artifact has one, `module.wasm`). */
  modules: Record<string, WebAssembly.Module>
}

/** Host interfaces a component may import (unversioned names, as jco keys them). */
export const SUPPORTED_IMPORTS: ReadonlySet<string> = new Set(['wasi:logging/logging', 'homestar:host/helpers'])

export const CORE_MODULE_NAME = 'module.wasm'
