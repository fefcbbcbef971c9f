import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Collect = () => unknown

let collect: Collect | null | undefined

/**
 * V8's `gc`, without putting it on this program's global object: the flag is on only while a
 * private context is made (unless the process was started with `--expose-gc`).
 */
function collector (): Collect | undefined {
  if (collect !== undefined) return collect ?? undefined
  const exposed = (globalThis as { gc?: Collect }).gc
  if (typeof exposed === 'function') return (collect = exposed)
  try {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as Collect
  } catch {
    collect = null
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
  return collect ?? undefined
}

/**
 * A full garbage collection of this thread's heap, for when a busy spell has ended: V8 starts
 * one when memory is allocated, so a node that goes quiet after a burst of work otherwise
 * keeps that burst's garbage (tens of MB) for as long as it stays quiet. Returns false where
 * the collector cannot be reached.
 */
export function collectGarbage (): boolean {
  const gc = collector()
  if (gc === undefined) return false
  // no options: V8 11 (Node.js 20) takes any argument as a request for a minor collection.
  // Compacting moves what lives on sparse pages together, so that the pages are given back;
  // the second collection takes what a marking already under way had kept.
  setFlagsFromString('--compact-on-every-full-gc')
  try {
    gc()
    gc()
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc')
  }
  return true
}
