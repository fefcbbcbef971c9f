import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** A full garbage collection (the flag is set at run time, so the test runner needs no option). */
export function collectGarbage (): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

/**
 * The memory this process holds for JavaScript objects and buffers, after full collections:
 * the least of three readings, as buffers still held by sockets are released between them.
 */
export async function heldBytes (): Promise<number> {
  let least = Infinity
  for (let i = 0; i < 3; i++) {
    collectGarbage()
    const m = process.memoryUsage()
    least = Math.min(least, m.heapUsed + m.external)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return least
}
