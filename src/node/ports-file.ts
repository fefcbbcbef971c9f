import { renameSync, rmSync, writeFileSync } from 'node:fs'

/**
 * What `<data>/ports.json` holds while the node runs. It is written once JSON-RPC answers, with
 * `starting` naming the parts still starting (the network: `listeners` is empty until then),
 * and again without it once every part is up.
 */
export interface PortsFile {
  pid: number
  rpc: { host: string, port: number }
  metrics: { host: string, port: number } | null
  listeners: string[]
  peer_id: string
  starting?: string[]
}

/**
 * Writes `ports.json` whole or not at all: a reader (a client command, a script) never sees
 * half a file, even if the node dies while writing it.
 */
export function writePortsFile (path: string, ports: PortsFile): void {
  const partial = `${path}.${process.pid}.tmp`
  writeFileSync(partial, JSON.stringify(ports, null, 2) + '\n')
  renameSync(partial, path)
}

export function removePortsFile (path: string): void {
  rmSync(path, { force: true })
}
