import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { extname, join } from 'node:path'
import type { GetRoute } from '../rpc/index.js'
import { DashboardError, DashboardErrorCode } from './errors.js'

type RouteResponse = Awaited<ReturnType<GetRoute>>

/** URL path under which the page's files are served. */
export const DASHBOARD_PREFIX = '/ui/'

/**
 * Every file the page is made of. Only these are served: a request path is looked up in this
 * list and never joined onto the file system, so no path can reach another file.
 */
export const DASHBOARD_ASSETS: readonly string[] = [
  'index.html', 'style.css', 'favicon.svg',
  'app.js', 'rpc.js', 'dom.js', 'format.js', 'node-panel.js', 'metrics-panel.js', 'runs.js', 'run-view.js', 'dag.js'
]

/** Paths that answer with the page itself. */
export const DASHBOARD_PAGE_PATHS: readonly string[] = ['/', '/ui', '/ui/']

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8'
}

const COMMON_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer'
}

interface Asset {
  text: string
  etag: string
}

/** Reads the page's files once each, on first use, and answers GETs for them. */
export class DashboardAssets {
  private readonly dir: string
  private readonly cache = new Map<string, Promise<Asset>>()

  constructor (dir: string) {
    this.dir = dir
  }

  /** The GET routes: the page on `/` (and `/ui/`), each file on `/ui/<name>`. */
  routes (): Record<string, GetRoute> {
    const routes: Record<string, GetRoute> = {}
    for (const path of DASHBOARD_PAGE_PATHS) routes[path] = async req => await this.page(req)
    for (const name of DASHBOARD_ASSETS) {
      routes[DASHBOARD_PREFIX + name] = name === 'index.html' ? async req => await this.page(req) : async req => await this.file(name, req)
    }
    return routes
  }

  private async load (name: string): Promise<Asset> {
    let asset = this.cache.get(name)
    if (asset === undefined) {
      asset = readFile(join(this.dir, name), 'utf8').then(
        text => ({ text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"` }),
        (err: unknown) => {
          this.cache.delete(name)
          throw new DashboardError(DashboardErrorCode.ASSET_MISSING, `dashboard file ${name} cannot be read`, { file: name }, { cause: err })
        })
      this.cache.set(name, asset)
    }
    return await asset
  }

  private async file (name: string, req: IncomingMessage): Promise<RouteResponse> {
    const asset = await this.load(name)
    const contentType = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream'
    // revalidated on every load (a new node version is picked up at once), 304 when unchanged
    const headers = { ...COMMON_HEADERS, 'Cache-Control': 'no-cache', ETag: asset.etag }
    if (etagMatches(req.headers['if-none-match'], asset.etag)) return { status: 304, contentType, body: '', headers }
    return { status: 200, contentType, body: asset.text, headers }
  }

  /**
   * The page. When it was asked for with `?token=` (a node with `rpc.auth_token`), its files
   * need the token too: the links get it, and an import map adds it to every module import.
   */
  private async page (req: IncomingMessage): Promise<RouteResponse> {
    const asset = await this.load('index.html')
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
    const { html, scriptHashes } = token === null || token === '' ? { html: asset.text, scriptHashes: [] } : withToken(asset.text, token)
    const headers = {
      ...COMMON_HEADERS,
      'Cache-Control': 'no-store',
      'Content-Security-Policy': contentSecurityPolicy(scriptHashes),
      'X-Frame-Options': 'DENY'
    }
    return { status: 200, contentType: CONTENT_TYPES['.html'], body: html, headers }
  }
}

/** Same-origin files and connections only; no inline code but the import map, by its hash. */
function contentSecurityPolicy (scriptHashes: string[]): string {
  return [
    "default-src 'none'",
    ["script-src 'self'", ...scriptHashes.map(h => `'sha256-${h}'`)].join(' '),
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

function withToken (html: string, token: string): { html: string, scriptHashes: string[] } {
  // encodeURIComponent leaves no character that means anything in HTML, JSON or a script
  const query = `?token=${encodeURIComponent(token)}`
  const linked = html.replace(/(src|href)="(\/ui\/[a-z0-9.-]+)"/g, (_m, attr: string, path: string) => `${attr}="${path}${query}"`)
  const imports: Record<string, string> = {}
  for (const name of DASHBOARD_ASSETS) {
    if (name.endsWith('.js')) imports[DASHBOARD_PREFIX + name] = DASHBOARD_PREFIX + name + query
  }
  const map = JSON.stringify({ imports })
  const at = linked.indexOf('<script type="module"')
  if (at < 0) return { html: linked, scriptHashes: [] }
  const out = `${linked.slice(0, at)}<script type="importmap">${map}</script>\n  ${linked.slice(at)}`
  return { html: out, scriptHashes: [createHash('sha256').update(map).digest('base64')] }
}

function etagMatches (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  return header.split(',').some(tag => tag.trim().replace(/^W\//, '') === etag)
}
