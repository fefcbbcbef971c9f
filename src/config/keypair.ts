import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError, ConfigErrorCode } from './errors.js'

const PEM_LABEL = 'PRIVATE KEY'
const SEED_BYTES = 32
/** DER prefix of a PKCS#8 Ed25519 private key; the seed follows it. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface KeypairOptions {
  /** Key file; created with a fresh key (mode 0600) when missing. */
  keyFile: string
  /** Base64 seed; takes precedence over the file. */
  seed?: string
}

/**
 * The node's Ed25519 key. The file holds the 32-byte seed in PEM armor (the form Homestar's
 * test keys use); PKCS#8 PEM and base64 seeds are read too.
 */
export async function loadOrCreateKeypair (opts: KeypairOptions): Promise<PrivateKey> {
  if (opts.seed !== undefined && opts.seed !== '') {
    return await ed25519FromSeed(decodeSeed(Buffer.from(opts.seed, 'base64'), 'node.key_seed'))
  }
  let text: string | undefined
  try {
    text = readFileSync(opts.keyFile, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(ConfigErrorCode.KEYPAIR, `cannot read key file ${opts.keyFile}: ${(err as Error).message}`, { file: opts.keyFile }, { cause: err })
    }
  }
  if (text === undefined) {
    const seed = randomBytes(SEED_BYTES)
    try {
      mkdirSync(dirname(opts.keyFile), { recursive: true })
      writeFileSync(opts.keyFile, toPem(seed), { mode: 0o600, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return await loadOrCreateKeypair(opts)
      throw new ConfigError(ConfigErrorCode.KEYPAIR, `cannot write key file ${opts.keyFile}: ${(err as Error).message}`, { file: opts.keyFile }, { cause: err })
    }
    return await ed25519FromSeed(seed)
  }
  return await ed25519FromSeed(parseKeyFile(text, opts.keyFile))
}

/**
 * The Ed25519 key of a 32-byte seed, its public half derived by node:crypto (OpenSSL): the
 * same key as libp2p's `generateKeyPairFromSeed`, without the ~200 ms that its pure-JS
 * curve code spends building tables on first use, at every start. libp2p's key code (~0.5 MB
 * with its curves) is loaded here, not with the settings: the CLI's client commands read the
 * settings and never need a key.
 */
export async function ed25519FromSeed (seed: Uint8Array): Promise<PrivateKey> {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const { x } = createPublicKey(key).export({ format: 'jwk' })
  if (x === undefined) throw new ConfigError(ConfigErrorCode.KEYPAIR, 'cannot derive the Ed25519 public key')
  const { privateKeyFromRaw } = await import('@libp2p/crypto/keys')
  return privateKeyFromRaw(Buffer.concat([seed, Buffer.from(x, 'base64url')]))
}

export function toPem (seed: Uint8Array): string {
  const body = Buffer.from(seed).toString('base64').replace(/(.{64})/g, '$1\n').trim()
  return `-----BEGIN ${PEM_LABEL}-----\n${body}\n-----END ${PEM_LABEL}-----\n`
}

function parseKeyFile (text: string, file: string): Uint8Array {
  const pem = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(text)
  const der = Buffer.from((pem?.[2] ?? text).replace(/\s+/g, ''), 'base64')
  if (der.length === PKCS8_ED25519_PREFIX.length + SEED_BYTES && der.subarray(0, PKCS8_ED25519_PREFIX.length).equals(PKCS8_ED25519_PREFIX)) {
    return der.subarray(PKCS8_ED25519_PREFIX.length)
  }
  return decodeSeed(der, file)
}

function decodeSeed (bytes: Uint8Array, origin: string): Uint8Array {
  if (bytes.length !== SEED_BYTES) {
    throw new ConfigError(ConfigErrorCode.KEYPAIR, `${origin} must hold a 32-byte Ed25519 seed (got ${bytes.length} bytes)`, { origin })
  }
  return bytes
}
