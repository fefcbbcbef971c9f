import { GLOBAL_EXPORT_PREFIX } from '../binary/instrument.js'

/**
 * The state of freshly made core instances: the bytes of every exported memory and
 * the values of every global exported by `binary/instrument.ts` (all mutable globals the
 * modules define). Restoring it after a successful call returns the instances to
 * their initial state, which is much cheaper than instantiating again (jco's
 * bindings cost ~0.5 ms per instantiation).
 */
export interface Snapshot {
  memories: Array<{ memory: WebAssembly.Memory, bytes: Uint8Array }>
  globals: Array<{ global: WebAssembly.Global, value: unknown }>
  /** Bytes of memory the snapshot copies. */
  size: number
}

/** Larger memories are cheaper to instantiate again than to copy back. */
export const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024

export function takeSnapshot (instances: WebAssembly.Instance[]): Snapshot | undefined {
  const memories = new Set<WebAssembly.Memory>()
  const globals: Snapshot['globals'] = []
  for (const instance of instances) {
    for (const [name, value] of Object.entries(instance.exports)) {
      if (value instanceof WebAssembly.Memory) memories.add(value)
      else if (value instanceof WebAssembly.Global && name.startsWith(GLOBAL_EXPORT_PREFIX)) globals.push({ global: value, value: value.value })
    }
  }
  let total = 0
  for (const memory of memories) total += memory.buffer.byteLength
  if (total > MAX_SNAPSHOT_BYTES) return undefined
  return { memories: [...memories].map(memory => ({ memory, bytes: new Uint8Array(memory.buffer).slice() })), globals, size: total }
}

/** Puts the state back; false when it cannot be (a memory grew: memories never shrink). */
export function restoreSnapshot (snapshot: Snapshot): boolean {
  if (snapshot.memories.some(({ memory, bytes }) => memory.buffer.byteLength !== bytes.byteLength)) return false
  for (const { memory, bytes } of snapshot.memories) new Uint8Array(memory.buffer).set(bytes)
  for (const { global, value } of snapshot.globals) global.value = value
  return true
}
