// LevelDB's errors (abstract-level's `LEVEL_*` codes) as the store's own.
import { StoreError, StoreErrorCode } from './errors.js'

interface LevelErrorLike { code?: string, message?: string, cause?: LevelErrorLike }

export function openError (err: unknown, location: string): StoreError {
  const e = err as LevelErrorLike
  if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED') {
    return new StoreError(StoreErrorCode.LOCKED, `store is in use by another process: ${location}`, { location }, { cause: err })
  }
  const detail = e.cause?.message ?? e.message ?? String(err)
  return new StoreError(StoreErrorCode.OPEN_FAILED, `cannot open store at ${location}: ${detail}`, { location }, { cause: err })
}

export function opError (err: unknown): unknown {
  if (err instanceof StoreError) return err
  const e = err as LevelErrorLike
  if (e.code === 'LEVEL_DATABASE_NOT_OPEN') {
    return new StoreError(StoreErrorCode.NOT_OPEN, 'store is not open', undefined, { cause: err })
  }
  if (typeof e.code === 'string' && e.code.startsWith('LEVEL_')) {
    const detail = e.cause?.message ?? e.message ?? e.code
    // LevelDB reports a full disk as an IO error whose message carries strerror(ENOSPC)
    const code = /no space left on device|ENOSPC/i.test(detail) ? StoreErrorCode.NO_SPACE : StoreErrorCode.IO
    return new StoreError(code, `store operation failed: ${detail}`, { levelCode: e.code }, { cause: err })
  }
  return err
}

/** The error a write gets while writing is suspended since `since` (ms) by `error`: its own code and reason. */
export function suspended ({ error, since }: { error: StoreError, since: number }): StoreError {
  return new StoreError(error.code, `store writes are suspended since ${new Date(since).toISOString()}: ${error.message}`, { since, reason: error.message })
}
