import { networkInterfaces } from 'node:os'
import { describe, expect, it } from 'vitest'
import { AccessPolicy, type AccessPolicyOptions } from '../../../src/rpc/index.js'
import { defaultConfig } from '../../../src/config/index.js'

const DEFAULT_ALLOWED_ORIGINS = defaultConfig.rpc.allowed_origins
const DEFAULT_ALLOWED_HOSTS = defaultConfig.rpc.allowed_hosts
import { ConfigError, loadConfig } from '../../../src/config/index.js'

function policy (opts: Partial<AccessPolicyOptions> = {}): AccessPolicy {
  return new AccessPolicy({ authToken: '', allowedOrigins: DEFAULT_ALLOWED_ORIGINS, allowedHosts: DEFAULT_ALLOWED_HOSTS, listenHost: '127.0.0.1', port: 1337, ...opts })
}

const req = (headers: Record<string, string>, url = '/'): any => ({ url, headers })

describe('AccessPolicy', () => {
  it('Host: the allowed names and the listen host, port ignored, brackets for IPv6; an absent Host is allowed', () => {
    const p = policy({ listenHost: '192.0.2.7' })
    for (const host of ['localhost', 'localhost:1', '127.0.0.1:1337', '[::1]:1337', '[0:0:0:0:0:0:0:1]', 'LocalHost.', '192.0.2.7:1337', undefined, '']) expect(p.hostAllowed(host), host).toBe(true)
    for (const host of ['evil.example', 'localhost.evil.example', '192.0.2.8', '::1', 'a@localhost', 'localhost/x', 'local host']) expect(p.hostAllowed(host), host).toBe(false)
  })

  it('a listen host given as bare IPv6 is a host of the node', () => {
    expect(policy({ listenHost: '::1', allowedHosts: [] }).hostAllowed('[::1]:1337')).toBe(true)
    expect(policy({ listenHost: '::1', allowedHosts: [] }).hostAllowed('localhost')).toBe(false)
  })

  it('a wildcard listen address adds the machine\'s own addresses, not any host', () => {
    const own = Object.values(networkInterfaces()).flat().filter(i => i !== undefined).map(i => i.family === 'IPv6' ? `[${i.address}]` : i.address)
    for (const listenHost of ['0.0.0.0', '::']) {
      const p = policy({ listenHost, allowedHosts: [] })
      for (const host of own) expect(p.hostAllowed(`${host}:1337`), host).toBe(true)
      expect(p.hostAllowed('0.0.0.0')).toBe(false)
      expect(p.hostAllowed('evil.example')).toBe(false)
      expect(policy({ listenHost, allowedHosts: ['*'] }).hostAllowed('evil.example')).toBe(true)
    }
  })

  it('Origin: own origin, exact entries, port wildcards; nothing looser', () => {
    const p = policy({ allowedOrigins: ['https://app.example.com', 'http://dev.example:*'] })
    expect(p.originAllowed('http://127.0.0.1:1337', '127.0.0.1:1337')).toBe(true)
    expect(p.originAllowed('http://node.lan:1337', 'node.lan:1337')).toBe(true)
    expect(p.originAllowed('https://127.0.0.1:1337', '127.0.0.1:1337')).toBe(false)
    expect(p.originAllowed('http://127.0.0.1:1338', '127.0.0.1:1337')).toBe(false)
    expect(p.originAllowed('http://127.0.0.1:1337', undefined)).toBe(true)
    expect(p.originAllowed('https://app.example.com', 'x')).toBe(true)
    expect(p.originAllowed('https://APP.example.com:443', 'x')).toBe(true)
    expect(p.originAllowed('https://app.example.com:8443', 'x')).toBe(false)
    expect(p.originAllowed('http://app.example.com', 'x')).toBe(false)
    expect(p.originAllowed('https://sub.app.example.com', 'x')).toBe(false)
    expect(p.originAllowed('http://dev.example:3000', 'x')).toBe(true)
    expect(p.originAllowed('http://dev.example', 'x')).toBe(true)
    expect(p.originAllowed('https://dev.example:3000', 'x')).toBe(false)
    expect(p.originAllowed('http://dev.example.evil:3000', 'x')).toBe(false)
    for (const bad of ['null', '', 'dev.example', 'file:///etc', 'http://dev.example:3000/', 'http://u@dev.example']) expect(p.originAllowed(bad, 'x'), bad).toBe(false)
    expect(policy({ allowedOrigins: ['*'] }).originAllowed('null', 'x')).toBe(true)
  })

  it('check: Host, then Origin, then the token; CORS headers only for a request with an allowed Origin', () => {
    const p = policy({ authToken: 'tok' })
    expect(p.check(req({ host: 'evil.example', origin: 'https://evil.example' }))).toMatchObject({ allowed: false, refusal: { status: 403, code: 'RPC_HOST_NOT_ALLOWED', setting: 'rpc.allowed_hosts' } })
    expect(p.check(req({ host: 'localhost', origin: 'https://evil.example' }))).toMatchObject({ allowed: false, refusal: { status: 403, code: 'RPC_ORIGIN_NOT_ALLOWED', setting: 'rpc.allowed_origins' } })
    expect(p.check(req({ host: 'localhost' }))).toMatchObject({ allowed: false, refusal: { status: 401, code: 'RPC_UNAUTHORIZED', setting: 'rpc.auth_token', headers: { 'WWW-Authenticate': 'Bearer' } } })
    expect(p.check(req({ host: 'localhost' }, '/?token=tok'))).toEqual({ allowed: true, cors: {} })
    expect(p.check(req({ host: 'localhost', origin: 'http://localhost:3000', authorization: 'Bearer tok' }))).toEqual({ allowed: true, cors: { 'Access-Control-Allow-Origin': 'http://localhost:3000', Vary: 'Origin' } })
    expect(p.preflight(req({ host: 'localhost', origin: 'http://localhost:3000' }))).toMatchObject({ allowed: true, cors: { 'Access-Control-Allow-Origin': 'http://localhost:3000', 'Access-Control-Allow-Headers': 'content-type, authorization' } })
    expect(p.preflight(req({ host: 'localhost', origin: 'https://evil.example' }))).toMatchObject({ allowed: false, refusal: { status: 403 } })
  })

  it('entries that are not origins or hosts are refused when the policy is built', () => {
    for (const allowedOrigins of [['app.example.com'], ['https://app.example.com/path'], ['http://*.example.com'], ['null']]) {
      expect(() => policy({ allowedOrigins }), allowedOrigins[0]).toThrow(ConfigError)
    }
    for (const allowedHosts of [['a b'], ['a/b'], ['']]) expect(() => policy({ allowedHosts }), allowedHosts[0]).toThrow(ConfigError)
  })

  it('warns about "*" in either list, and only then', () => {
    const logged: string[] = []
    const logger: any = { warn: (msg: string) => logged.push(msg) }
    policy().logWarnings(logger)
    expect(logged).toEqual([])
    policy({ allowedOrigins: ['*'], allowedHosts: ['*'] }).logWarnings(logger)
    expect(logged).toHaveLength(2)
    expect(logged[0]).toMatch(/rpc\.allowed_origins/)
    expect(logged[1]).toMatch(/rpc\.allowed_hosts/)
  })

  it('the settings schema takes the same forms', () => {
    expect(loadConfig({}).rpc).toMatchObject({ allowed_origins: ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'], allowed_hosts: ['localhost', '127.0.0.1', '[::1]'] })
    const rpc = { allowed_origins: ['*', 'https://app.example.com', 'http://localhost:*', 'http://[::1]:8080'], allowed_hosts: ['*', 'node.example', '[::1]', '10.0.0.2:1337'] }
    expect(loadConfig({ flags: { rpc } }).rpc).toMatchObject(rpc)
    expect(loadConfig({ env: { IPVM_RPC__ALLOWED_ORIGINS: 'https://a.example,http://localhost:*' } }).rpc.allowed_origins).toEqual(['https://a.example', 'http://localhost:*'])
    for (const allowed_origins of [['app.example.com'], ['https://app.example.com/'], ['http://*.example.com'], ['https://u@app.example.com']]) {
      expect(() => loadConfig({ flags: { rpc: { allowed_origins } } }), allowed_origins[0]).toThrow(/rpc\.allowed_origins/)
    }
    expect(() => loadConfig({ flags: { rpc: { allowed_hosts: ['a/b'] } } })).toThrow(/rpc\.allowed_hosts/)
  })
})
