import { setPriority } from 'node:os'

/** How far below the node's other threads Wasm runs (a nice value: 0 the same, 19 the least). */
export const WASM_NICENESS = 10
/**
 * Where a call that has run `LONG_CALL_MS` goes: the lowest priority, so that a task computing
 * for seconds takes the processor time short tasks (on other workers) and the node leave.
 */
export const LONG_CALL_NICENESS = 19
export const LONG_CALL_MS = 100

/**
 * Sets a thread's nice value (Linux gives each thread its own); false where it is refused
 * (raising a thread's priority again needs a privilege an ordinary process may lack) or the
 * thread is unknown.
 */
export function setThreadNiceness (tid: number | undefined, niceness: number): boolean {
  if (tid === undefined) return false
  try {
    setPriority(tid, niceness)
    return true
  } catch {
    return false
  }
}
