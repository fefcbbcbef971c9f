/**
 * The load test's probe, in a process of its own so that what it measures is the node, not
 * the load generator's own event loop: connects from the address given, prints `ready`,
 * waits for a line on stdin, then asks `health` every 20 ms until the given time has
 * passed, and prints one JSON line: the latencies in ms and the errors (a probe that cannot
 * connect says so too).
 *
 *   node --import tsx bench/probe.ts <ws url> <local address> <seconds>
 */
import { IpvmClient } from '../src/client/index.js'

const [url, localAddress, seconds] = process.argv.slice(2)
const latencies: number[] = []
const errors: string[] = []
try {
  const client = await IpvmClient.connect(url, { localAddress, connectTimeoutMs: 30_000 })
  process.stdout.write('ready\n')
  await new Promise(resolve => process.stdin.once('data', resolve))
  process.stdin.pause()
  const deadline = performance.now() + Number(seconds) * 1000
  while (performance.now() < deadline) {
    const t0 = performance.now()
    try {
      const health = await client.health()
      if ((health as { healthy?: unknown }).healthy !== true) errors.push(`unhealthy: ${JSON.stringify(health)}`)
      else latencies.push(performance.now() - t0)
    } catch (err) {
      errors.push((err as Error).message)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  await client.close()
} catch (err) {
  errors.push(`probe failed: ${(err as Error).message}`)
}
process.stdout.write(`${JSON.stringify({ latencies, errors })}\n`)
