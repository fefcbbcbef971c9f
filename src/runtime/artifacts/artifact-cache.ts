import { createHash, randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ArtifactDescription } from './artifact.js'
import type { PreparedFiles } from './prepare.js'

/**
 * Prepared artifacts on disk: `<cacheDir>/<key>/manifest.json` plus the guarded core
 * modules, so a restarted node does not transpile again. Keys are resource CIDs;
 * anything that is not a plain file name is hashed. Writes go to a temporary
 * directory renamed into place, so readers never see half an entry.
 */
const FORMAT = 1

interface Manifest {
  format: number
  description: ArtifactDescription
  files: string[]
}

export function cacheEntryDir (cacheDir: string, key: string): string {
  const safe = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(key)
    ? key
    : createHash('sha256').update(key).digest('hex')
  return join(cacheDir, safe)
}

export async function loadCachedArtifact (cacheDir: string, key: string): Promise<PreparedFiles | undefined> {
  const dir = cacheEntryDir(cacheDir, key)
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
    if (manifest.format !== FORMAT || !Array.isArray(manifest.files)) return undefined
    const files: Record<string, Uint8Array> = {}
    for (const name of manifest.files) {
      if (!/^[A-Za-z0-9._-]+\.wasm$/.test(name)) return undefined
      files[name] = new Uint8Array(await readFile(join(dir, name)))
    }
    return { description: manifest.description, files }
  } catch {
    return undefined
  }
}

export async function saveCachedArtifact (cacheDir: string, key: string, prepared: PreparedFiles): Promise<void> {
  const dir = cacheEntryDir(cacheDir, key)
  const tmp = `${dir}.tmp-${randomUUID()}`
  await mkdir(tmp, { recursive: true })
  try {
    for (const [name, bytes] of Object.entries(prepared.files)) await writeFile(join(tmp, name), bytes)
    const manifest: Manifest = { format: FORMAT, description: prepared.description, files: Object.keys(prepared.files) }
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest))
    await rm(dir, { recursive: true, force: true })
    await rename(tmp, dir)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
