import { spawn, spawnSync } from 'node:child_process'

const PROMTOOL_TIMEOUT_MS = 20_000

/** Whether `promtool` (Debian package `prometheus`) can be run. */
const promtoolAvailable = spawnSync('promtool', ['--version'], { stdio: 'ignore', timeout: PROMTOOL_TIMEOUT_MS }).status === 0
export const skipPromtool = !promtoolAvailable && process.env.IPVM_SKIP_PROMTOOL === '1'

export interface PromtoolResult { code: number | null, stdout: string, stderr: string }

export async function promtoolCheck (text: string): Promise<PromtoolResult> {
  if (!promtoolAvailable) {
    throw new Error('promtool is not on PATH: install it (Debian/Ubuntu: apt-get install --no-install-recommends prometheus) or set IPVM_SKIP_PROMTOOL=1 to skip this check')
  }
  return await new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: PROMTOOL_TIMEOUT_MS })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
    child.stdin.end(text)
  })
}

