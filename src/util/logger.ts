import { pino, type Logger, type LevelWithSilent } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export interface LoggerOptions {
  /** @default 'info' */
  level?: LevelWithSilent
  /**
   * `json`: one JSON object a line; `pretty`: readable lines (time, level, message, fields);
   * `auto`: pretty when the destination is stderr and stderr is a terminal, else JSON.
   * @default 'auto'
   */
  format?: 'auto' | 'json' | 'pretty'
  /** Where log lines go; stderr by default so stdout stays for command output. */
  destination?: NodeJS.WritableStream
}

/**
 * Structured logs (pino). One child per module: `logger.child({ module: 'rpc' })`.
 * Secrets (auth tokens, private keys) are redacted wherever they appear under these keys.
 */
export function createLogger (opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'auto'
  const readable = format === 'pretty' || (format === 'auto' && opts.destination === undefined && process.stderr.isTTY === true)
  const destination = readable
    ? pretty({ destination: opts.destination ?? 2, colorize: opts.destination === undefined && process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', singleLine: true, ignore: 'module', messageFormat: '{if module}[{module}] {end}{msg}', sync: true })
    : (opts.destination ?? pino.destination({ fd: 2, sync: false }))
  return pino({
    level: opts.level ?? 'info',
    base: undefined,
    redact: { paths: ['token', 'auth_token', '*.auth_token', 'authorization', '*.authorization', 'private_key', '*.private_key'], censor: '[redacted]' }
  }, destination as pino.DestinationStream)
}

/** A logger that drops everything; for tests and embedding. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
