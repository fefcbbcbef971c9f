import { Writable } from 'node:stream'
import { pino } from 'pino'
import { expect } from 'vitest'
import type { Logger } from '../../../src/util/logger.js'
import { RuntimeError, type RuntimeErrorCode } from '../../../src/runtime/errors.js'

/** A logger that keeps its JSON lines, to check what the runner logs. */
export function capturingLogger (): { logger: Logger, lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = []
  const destination = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    }
  })
  const logger = pino({ level: 'trace' }, destination)
  const lines = (): Array<Record<string, unknown>> =>
    chunks.join('').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)
  return { logger, lines }
}

/** Awaits a rejection with a RuntimeError of `code` and returns it. */
export async function rejectsWith (promise: Promise<unknown>, code: RuntimeErrorCode, retryable?: boolean): Promise<RuntimeError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(RuntimeError)
  expect((err as RuntimeError).code).toBe(code)
  if (retryable !== undefined) expect((err as RuntimeError).retryable).toBe(retryable)
  return err as RuntimeError
}
