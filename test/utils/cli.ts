import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** `ipvm` compiled from the current sources by test/global-setup.ts: plain JavaScript, no loader. */
export const CLI_ENTRY = fileURLToPath(new URL('../../.test-build/cli/main.js', import.meta.url))

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs `ipvm <args>` (compiled from the sources); resolves when it exits (bounded by timeoutMs). */
export async function runCli (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ipvm ${args.join(' ')} did not exit within ${timeoutMs} ms`)) }, timeoutMs)
    child.once('exit', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}
