/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined or false,
 * and returns that; throws, naming `what`, once `timeoutMs` has passed.
 */
export async function waitUntil<T> (probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what = 'a condition', intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
