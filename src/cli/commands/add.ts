import { Command } from 'commander'
import { createReadStream, statSync } from 'node:fs'
import { Readable } from 'node:stream'
import { resolve } from 'node:path'
import { silentLogger } from '../../util/logger.js'
import { CliError, CliErrorCode, ExitCode } from '../errors.js'
import { clientUrl, print, resolveConfig, withClientOptions, type ClientFlags } from '../shared.js'

interface AddFlags extends ClientFlags { config?: string, offline?: boolean }

/**
 * `ipvm add FILE…`: imports files as `ipfs add --cid-version 1` does and prints each CID. Goes
 * through the running node's API when one answers, else writes straight into the data folder.
 */
export function addCommand (): Command {
  return withClientOptions(new Command('add'))
    .description('import files into the node\'s blockstore (CIDv1, raw leaves, 256 KiB chunks) and print their CIDs')
    .argument('<files...>', 'files to import')
    .option('-c, --config <file>', 'TOML settings file, to find the data folder')
    .option('--offline', 'write into the data folder even if a node is reachable (fails while a node holds it)')
    .action(async (files: string[], flags: AddFlags) => {
      for (const f of files) {
        try {
          if (!statSync(f).isFile()) throw new Error('not a regular file')
        } catch (err) {
          throw new CliError(CliErrorCode.FILE_UNREADABLE, `cannot add ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { exitCode: ExitCode.USAGE })
        }
      }
      const url = flags.offline === true ? undefined : await reachable(flags)
      const results: Array<{ file: string, cid: string, size: number }> = []
      if (url !== undefined) {
        for (const file of files) {
          const res = await fetch(`${url}/add`, {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream', ...(flags.token !== undefined ? { authorization: `Bearer ${flags.token}` } : {}) },
            body: Readable.toWeb(createReadStream(file)) as ReadableStream,
            duplex: 'half'
          } as RequestInit)
          const body = await res.json().catch(() => ({})) as { cid?: string, error?: { message?: string } }
          if (res.status === 401) throw new CliError(CliErrorCode.UNAUTHORIZED, `the node refused ${file}: HTTP 401`, { hint: 'pass --token TOKEN (or set IPVM_RPC__AUTH_TOKEN)' })
          if (!res.ok || body.cid === undefined) throw new CliError(CliErrorCode.UNEXPECTED, `the node refused ${file}: ${body.error?.message ?? `HTTP ${res.status}`}`)
          results.push({ file, cid: body.cid, size: statSync(file).size })
        }
      } else {
        const config = resolveConfig({ ...(flags.config !== undefined ? { config: flags.config } : {}), ...(flags.data !== undefined ? { data: flags.data } : {}) })
        const { Store, importFile } = await import('../../store/index.js')
        const store = new Store({ dataDir: resolve(config.node.data_dir) }, { logger: silentLogger() })
        await store.start()
        try {
          for (const file of files) results.push({ file, cid: (await importFile(store.blocks, createReadStream(file))).toString(), size: statSync(file).size })
        } finally {
          await store.stop()
        }
      }
      for (const r of results) print(flags.json === true ? JSON.stringify(r) : `added ${r.cid} ${r.file}`)
    })
}

/** The HTTP URL of a node that answers `GET /health`, or undefined. */
async function reachable (flags: ClientFlags): Promise<string | undefined> {
  const url = clientUrl(flags).replace(/^ws:/, 'http:')
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000), headers: flags.token !== undefined ? { authorization: `Bearer ${flags.token}` } : {} })
    return res.status === 200 || res.status === 503 ? url : undefined
  } catch {
    return undefined
  }
}
