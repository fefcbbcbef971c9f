/**
 * Host functions offered to components, as Homestar offers them (§7.1):
 * `wasi:logging/logging.log` and `homestar:host/helpers` (`get-current-time`,
 * `print`). They run in the worker and collect what the guest says; the main thread
 * then writes it to the node log (subject `wasm_execution`, category = context).
 */
export type WasmLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'critical'

export interface WasmLog {
  /** The guest's level; `print` for `homestar:host/helpers.print`. */
  level: WasmLogLevel | 'print'
  context: string
  message: string
}

/** Logs kept per call; the rest are counted in `droppedLogs`. */
export const MAX_LOGS_PER_CALL = 1000
const MAX_MESSAGE_CHARS = 16 * 1024

export class LogCollector {
  readonly logs: WasmLog[] = []
  dropped = 0

  add (level: WasmLog['level'], context: string, message: string): void {
    if (this.logs.length >= MAX_LOGS_PER_CALL) {
      this.dropped++
      return
    }
    this.logs.push({ level, context: String(context), message: String(message).slice(0, MAX_MESSAGE_CHARS) })
  }
}

/** What the host functions of an instance report to; reset for each call. */
export interface HostContext {
  collector: LogCollector
  /** When the call's instance was ready (Homestar: when its store was created). */
  startNs: bigint
}

/** The imports object for jco's `instantiate`, keyed as jco looks them up (unversioned). */
export function hostImports (ctx: HostContext): Record<string, Record<string, (...args: never[]) => unknown>> {
  return {
    'wasi:logging/logging': {
      log: (level: WasmLogLevel, context: string, message: string) => ctx.collector.add(level, context, message)
    },
    'homestar:host/helpers': {
      /** Time since the instance was created, like Homestar's since-store-creation clock. */
      getCurrentTime: () => {
        const elapsed = process.hrtime.bigint() - ctx.startNs
        const subsec = elapsed % 1_000_000_000n
        return {
          seconds: elapsed / 1_000_000_000n,
          milliseconds: Number(subsec / 1_000_000n),
          nanoseconds: Number(subsec)
        }
      },
      print: (msg: string) => ctx.collector.add('print', 'print', msg)
    }
  }
}
