/**
 * Turns of the event loop: long work on the main thread is done in slices, with a turn for
 * other clients' I/O in between, so one request never holds the node for long.
 */

/** Lets the event loop serve other I/O before going on. */
export async function nextTurn (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

/**
 * A pause to await between steps of a long job: it gives the event loop a turn once
 * `sliceMs` of work has passed since the last turn, and costs nothing otherwise.
 */
export function timeSlicer (sliceMs = 5): () => Promise<void> {
  let since = performance.now()
  return async () => {
    if (performance.now() - since < sliceMs) return
    await nextTurn()
    since = performance.now()
  }
}
