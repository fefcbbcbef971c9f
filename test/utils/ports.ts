import { existsSync, readFileSync } from 'node:fs'
import type { PortsFile } from '../../src/node/index.js'

/**
 * The ports.json in `portsFile` when the process `pid` wrote it; undefined while there is none,
 * another process's (a killed node leaves its file behind), or one being written.
 */
export function readPortsOf (portsFile: string, pid: number | undefined): PortsFile | undefined {
  if (!existsSync(portsFile)) return undefined
  try {
    const read = JSON.parse(readFileSync(portsFile, 'utf8')) as PortsFile
    return read.pid === pid ? read : undefined
  } catch {
    return undefined // written while we read: try again
  }
}
