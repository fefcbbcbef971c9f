/**
 * Where the client and the servers run while a sequential round trip is timed. On a virtual
 * machine with idle CPUs the figure is mostly the scheduler's: a reply that wakes a process
 * on another, idle vCPU costs tens of µs, one that wakes it on the same vCPU a few, and which
 * happens varies from block to block (a bare ws echo measured alone went from 26 000 to
 * 10 000 round trips/s within one run here, with nothing else changing). Pinning every
 * thread of the bench and of the servers fixes the placement, so two servers measured in the
 * same placement are compared on their own cost:
 *
 * - `one core`: the client and the server on the same CPU (no cross-CPU wake-up: the cost of
 *   the software, client and kernel included);
 * - `two cores`: the client on one CPU, the server on another (every request and reply is a
 *   cross-CPU wake-up, as on an idle machine).
 *
 * Pinning uses `taskset` (util-linux) on every thread of each process (`-a`) and is undone
 * afterwards (each process gets back the CPUs the bench started with).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export type Placement = 'one core' | 'two cores'
export const PLACEMENTS: readonly Placement[] = ['one core', 'two cores']

/** The CPUs this process may run on (`Cpus_allowed_list`), or undefined where /proc does not say. */
function allowedCpus (): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  } catch {
    return undefined
  }
}

/** The numbers of a CPU list such as `0-3,6`. */
function expand (list: string): number[] {
  const out: number[] = []
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number)
    for (let c = a; c <= (b ?? a); c++) out.push(c)
  }
  return out
}

function pin (pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

/**
 * Why pinned placements cannot be measured here (no taskset, fewer than 2 CPUs allowed), or
 * undefined when they can.
 */
export function placementUnavailable (): string | undefined {
  const list = allowedCpus()
  if (list === undefined) return 'the CPUs this process may use are not known (/proc)'
  if (expand(list).length < 2) return `only CPU ${list} is allowed`
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
  } catch {
    return 'taskset (util-linux) is not installed'
  }
  return undefined
}

/**
 * Runs `fn` with this process (the client) and `servers` pinned as `placement` says, then
 * gives every process back the CPUs this one started with.
 */
export async function withPlacement<T> (placement: Placement, servers: number[], fn: () => Promise<T>): Promise<T> {
  const list = allowedCpus()
  if (list === undefined) throw new Error('the CPUs this process may use are not known')
  const [first, second] = expand(list)
  const serverCpu = placement === 'one core' ? first : second
  try {
    pin(process.pid, String(first))
    for (const pid of servers) pin(pid, String(serverCpu))
    return await fn()
  } finally {
    for (const pid of [process.pid, ...servers]) {
      try {
        pin(pid, list)
      } catch {
        // a server that has exited needs nothing back
      }
    }
  }
}
