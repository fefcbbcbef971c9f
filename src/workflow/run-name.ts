import { WorkflowError, WorkflowErrorCode } from './errors.js'

/**
 * Longest run name, in UTF-8 bytes. A run's name is copied into every notification sent to
 * its subscribers and into its stored record, so it is bounded like any other size a
 * client controls.
 */
export const MAX_RUN_NAME_BYTES = 1024

/** Refuses a name longer than `MAX_RUN_NAME_BYTES` (`WORKFLOW_NAME_TOO_LONG`), before anything is planned or stored. */
export function checkRunName (name: string): void {
  // a string of n UTF-16 units takes at most 3n bytes: most names need no counting
  if (name.length * 3 <= MAX_RUN_NAME_BYTES) return
  const bytes = Buffer.byteLength(name, 'utf8')
  if (bytes > MAX_RUN_NAME_BYTES) {
    throw new WorkflowError(WorkflowErrorCode.NAME_TOO_LONG, `the run name is ${bytes} bytes long, more than the ${MAX_RUN_NAME_BYTES} allowed`, { limit: MAX_RUN_NAME_BYTES, bytes })
  }
}

/**
 * A name cut to `MAX_RUN_NAME_BYTES` at a character boundary: for a name stored before the
 * limit existed, which is read back, resumed and reported, never refused.
 */
export function cutRunName (name: string): string {
  if (name.length * 3 <= MAX_RUN_NAME_BYTES) return name
  // the first MAX units take at least MAX bytes: the cut falls within them
  const bytes = Buffer.from(name.slice(0, MAX_RUN_NAME_BYTES), 'utf8')
  if (bytes.byteLength <= MAX_RUN_NAME_BYTES) return name.length <= MAX_RUN_NAME_BYTES ? name : bytes.toString('utf8')
  let end = MAX_RUN_NAME_BYTES
  // back to the first byte of the character the limit falls in
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}
