import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

export interface LoggerOptions {
  /** @default 'info' */
  level?: LevelWithSilent
  /** Where log lines go; stderr by default so stdout stays for command output. */
  destination?: NodeJS.WritableStream
}

/**
 * Structured JSON logs (pino). One child per module: `logger.child({ module: 'rpc' })`.
 * Secrets (auth tokens, private keys) are redacted wherever they appear under these keys.
 */
export function createLogger (opts: LoggerOptions = {}): Logger {
  return pino({
    level: opts.level ?? 'info',
    base: undefined,
    redact: { paths: ['token', 'auth_token', '*.auth_token', 'authorization', '*.authorization', 'private_key', '*.private_key'], censor: '[redacted]' }
  }, (opts.destination ?? pino.destination({ fd: 2, sync: false })) as pino.DestinationStream)
}

/** A logger that drops everything; for tests and embedding. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
