/**
 * The load test's probe, in a process of its own so that what it measures is the node, not
 * the load generator's own event loop: connects from the address given, asks `health` every
 * 20 ms for the given time, and prints one JSON line: the latencies in ms and the errors.
 *
 *   node --import tsx bench/probe.ts <ws url> <local address> <seconds>
 */
import { IpvmClient } from '../src/client/index.js'

const [url, localAddress, seconds] = process.argv.slice(2)
const client = await IpvmClient.connect(url, { localAddress })
const latencies: number[] = []
const errors: string[] = []
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
process.stdout.write(`${JSON.stringify({ latencies, errors })}\n`)
