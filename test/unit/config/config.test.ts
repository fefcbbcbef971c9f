import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { type ConfigError, configFromEnv, defaultConfig, loadConfig, loadOrCreateKeypair } from '../../../src/config/index.js'
import { tempDir } from '../../utils/node.js'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

function tomlFile (text: string): string {
  const t = tempDir()
  cleanups.push(t.remove)
  const file = join(t.dir, 'config.toml')
  writeFileSync(file, text)
  return file
}

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as ConfigError).code
  }
  return undefined
}

describe('settings', () => {
  it('defaults serve one node on one machine', () => {
    const c = loadConfig()
    expect(c.rpc).toMatchObject({ host: '127.0.0.1', port: 1337 })
    expect(c.metrics).toMatchObject({ host: '127.0.0.1', port: 4000 })
    expect(c.network.listen).toEqual(['/ip4/0.0.0.0/tcp/0'])
    expect(c.network.mdns).toBe(true)
    expect(c.node.data_dir).toBe('.ipvm')
    expect(c.node.key_file.endsWith(join('.ipvm', 'node.key'))).toBe(true)
    expect(defaultConfig.rpc.port).toBe(1337)
  })

  it('precedence: file < environment < flags', () => {
    const file = tomlFile('[rpc]\nport = 2001\nhost = "127.0.0.2"\n[workflow]\nretries = 7\n[network]\npeers = ["/ip4/127.0.0.1/tcp/1"]\n')
    expect(loadConfig({ file }).rpc.port).toBe(2001)
    const env = { IPVM_RPC__PORT: '2002', IPVM_WORKFLOW__RETRIES: '1', IPVM_NETWORK__MDNS: 'false', IPVM_NETWORK__LISTEN: '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/tcp/5' }
    const c = loadConfig({ file, env })
    expect(c.rpc.port).toBe(2002)
    expect(c.rpc.host).toBe('127.0.0.2')
    expect(c.workflow.retries).toBe(1)
    expect(c.network.mdns).toBe(false)
    expect(c.network.listen).toEqual(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/5'])
    expect(c.network.peers).toEqual(['/ip4/127.0.0.1/tcp/1'])
    const f = loadConfig({ file, env, flags: { rpc: { port: 2003 } } })
    expect(f.rpc.port).toBe(2003)
    expect(f.workflow.retries).toBe(1)
  })

  it('environment variables without the section separator are not settings', () => {
    expect(configFromEnv({ IPVM_SKIP_SOMETHING: '1', PATH: '/bin' })).toEqual({})
  })

  it('an unknown key in the file is an error naming the key, with a suggestion', () => {
    const file = tomlFile('[rpc]\nprot = 1\n')
    let err: ConfigError | undefined
    try { loadConfig({ file }) } catch (e) { err = e as ConfigError }
    expect(err?.code).toBe('CONFIG_UNKNOWN_KEY')
    expect(err?.data).toMatchObject({ key: 'rpc.prot', suggestion: 'rpc.port' })
    expect(err?.message).toContain('rpc.prot')
    expect(codeOf(() => loadConfig({ file: tomlFile('[nodes]\ndata_dir = "x"\n') }))).toBe('CONFIG_UNKNOWN_KEY')
  })

  it('an unknown key in the environment is an error naming the variable', () => {
    let err: ConfigError | undefined
    try { loadConfig({ env: { IPVM_RPC__PROT: '1' } }) } catch (e) { err = e as ConfigError }
    expect(err?.code).toBe('CONFIG_UNKNOWN_KEY')
    expect(err?.message).toContain('IPVM_RPC__PROT')
    expect(err?.data).toMatchObject({ key: 'rpc.prot' })
  })

  it('a mistyped value is an error naming the key', () => {
    let err: ConfigError | undefined
    try { loadConfig({ file: tomlFile('[rpc]\nport = "twelve"\n') }) } catch (e) { err = e as ConfigError }
    expect(err?.code).toBe('CONFIG_INVALID_VALUE')
    expect(err?.data).toMatchObject({ key: 'rpc.port' })
    expect(codeOf(() => loadConfig({ env: { IPVM_RPC__PORT: 'abc' } }))).toBe('CONFIG_INVALID_VALUE')
    expect(codeOf(() => loadConfig({ env: { IPVM_NETWORK__MDNS: 'maybe' } }))).toBe('CONFIG_INVALID_VALUE')
    expect(codeOf(() => loadConfig({ flags: { rpc: { port: 70000 } } }))).toBe('CONFIG_INVALID_VALUE')
    expect(codeOf(() => loadConfig({ flags: { rpc: { notification_format: 'xml' as never } } }))).toBe('CONFIG_INVALID_VALUE')
  })

  it('a file that is not TOML is a clear error', () => {
    expect(codeOf(() => loadConfig({ file: tomlFile('[rpc\nport=1') }))).toBe('CONFIG_FILE')
    expect(codeOf(() => loadConfig({ file: '/nonexistent/ipvm.toml' }))).toBe('CONFIG_FILE')
  })
})

describe('keypair', () => {
  it('a PEM key file and the same seed in node.key_seed give the same key', async () => {
    // a raw 32-byte seed in PEM armor, the form of Homestar's test keys
    const t = tempDir()
    cleanups.push(t.remove)
    const keyFile = join(t.dir, 'k.pem')
    const seed = Buffer.alloc(32, 7)
    writeFileSync(keyFile, `-----BEGIN PRIVATE KEY-----\n${seed.toString('base64')}\n-----END PRIVATE KEY-----\n`)
    const fromFile = await loadOrCreateKeypair({ keyFile })
    const fromSeed = await loadOrCreateKeypair({ keyFile: join(t.dir, 'unused'), seed: seed.toString('base64') })
    expect(fromFile.equals(fromSeed)).toBe(true)
    expect(fromFile.type).toBe('Ed25519')
  })

  it('the key of a seed is the one libp2p derives (its public half, its signatures, its peer id)', async () => {
    for (const fill of [0, 7, 255]) {
      const seed = Buffer.alloc(32, fill)
      seed[0] = 1
      const ours = await loadOrCreateKeypair({ keyFile: '/nonexistent', seed: seed.toString('base64') })
      const libp2ps = await generateKeyPairFromSeed('Ed25519', seed)
      expect(ours.equals(libp2ps)).toBe(true)
      expect(ours.publicKey.equals(libp2ps.publicKey)).toBe(true)
      const message = Buffer.from('a receipt')
      expect(await libp2ps.publicKey.verify(message, await ours.sign(message))).toBe(true)
    }
  })

  it('a key file of the wrong size is an error', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const keyFile = join(t.dir, 'bad.pem')
    writeFileSync(keyFile, Buffer.alloc(10).toString('base64'))
    await expect(loadOrCreateKeypair({ keyFile })).rejects.toMatchObject({ code: 'CONFIG_KEYPAIR' })
  })
})
