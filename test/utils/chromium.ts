import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/** The Debian package's Chromium, which the browser tests drive (apt-get install chromium). */
export const CHROMIUM = '/usr/bin/chromium'
export const HAVE_CHROMIUM = existsSync(CHROMIUM)

/** The name of a browser suite, saying why it is skipped when Chromium is missing. */
export function browserSuite (name: string): string {
  return HAVE_CHROMIUM ? name : `${name} (skipped: ${CHROMIUM} not found; install it with apt-get install chromium)`
}

/**
 * A fresh headless Chromium with its own profile, closed (and the profile removed) by `close`.
 * `args` are added to the launch flags (e.g. `--host-resolver-rules=…`).
 */
export async function openBrowser (opts: { timeoutMs: number, args?: string[] }): Promise<{ context: BrowserContext, close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'ipvm-chromium-'))
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(opts.args ?? [])],
      viewport: { width: 1200, height: 800 },
      timeout: opts.timeoutMs
    })
    return {
      context,
      close: async () => {
        await context.close().catch(() => {})
        rmSync(profile, { recursive: true, force: true })
      }
    }
  } catch (err) {
    rmSync(profile, { recursive: true, force: true })
    throw err
  }
}

/** Every console message of a page, and its uncaught exceptions as `exception: …`. */
export function watchConsole (page: Page): string[] {
  const lines: string[] = []
  page.on('console', msg => lines.push(`${msg.type()}: ${msg.text()}`))
  page.on('pageerror', err => lines.push(`exception: ${err.message}`))
  return lines
}
