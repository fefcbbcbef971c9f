import { Command, CommanderError } from 'commander'
import { isIpvmError } from '../util/errors.js'
import { packageVersion } from '../util/package.js'
import { CliError, CliErrorCode, ExitCode } from './errors.js'
import { hintFor } from './hints.js'
import { startCommand } from './commands/start.js'
import { stopCommand } from './commands/stop.js'
import { initCommand } from './commands/init.js'
import { healthCommand } from './commands/health.js'
import { nodeCommand } from './commands/node.js'
import { addCommand } from './commands/add.js'
import { runCommand } from './commands/run.js'
import { statusCommand } from './commands/status.js'
import { controlCommands } from './commands/control.js'
import { workflowCommand } from './commands/workflow.js'

export { CliError, CliErrorCode, ExitCode } from './errors.js'

export function createProgram (): Command {
  const program = new Command('ipvm')
    .description('ipvm: a node that runs IPVM workflows (Homestar-compatible)')
    .version(packageVersion, '-V, --version')
    .option('--debug', 'print stack traces of errors')
  for (const cmd of [startCommand(), stopCommand(), initCommand(), healthCommand(), nodeCommand(), addCommand(), runCommand(), workflowCommand(), statusCommand(), ...controlCommands()]) program.addCommand(cmd)
  return program
}

/** How an error is shown: one line (`--json`: one JSON object) with its code and a hint. */
export interface ErrorReport { code: string, message: string, hint?: string, exitCode: number, stack?: string }

/** Any error as what the user sees: stable code, one-line message, a hint, and the exit code. */
export function describeError (err: unknown): ErrorReport {
  const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim()
  const stack = (err as Error | undefined)?.stack
  if (err instanceof CliError) {
    return { code: err.code, message: oneLine(err.message), ...(err.hint !== undefined ? { hint: err.hint } : {}), exitCode: err.exitCode, ...(stack !== undefined ? { stack } : {}) }
  }
  if (isIpvmError(err)) {
    const hint = hintFor(err.code)
    return { code: err.code, message: oneLine(err.message), ...(hint !== undefined ? { hint } : {}), exitCode: err.code.startsWith('CONFIG_') ? ExitCode.USAGE : ExitCode.FAILED, ...(stack !== undefined ? { stack } : {}) }
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code
  if (errno === 'ECONNRESET') {
    // the node's end of a connection went away (killed, crashed)
    return { code: CliErrorCode.NODE_LOST, message: `the node's connection was reset: ${oneLine((err as Error).message)}`, hint: 'see whether it runs with `ipvm health`', exitCode: ExitCode.UNREACHABLE, ...(stack !== undefined ? { stack } : {}) }
  }
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno)) {
    const hint = hintFor(errno)
    return { code: errno, message: oneLine((err as Error).message), ...(hint !== undefined ? { hint } : {}), exitCode: ExitCode.FAILED, ...(stack !== undefined ? { stack } : {}) }
  }
  return {
    code: CliErrorCode.UNEXPECTED,
    message: oneLine(err instanceof Error ? err.message : String(err)),
    hint: 'run again with --debug for the stack trace',
    exitCode: ExitCode.FAILED,
    ...(stack !== undefined ? { stack } : {})
  }
}

/** Writes an error for the user: `error: <message> [<CODE>]; <hint>`, or JSON with `--json`; the stack only with `--debug`. */
export function reportError (err: unknown, opts: { json: boolean, debug: boolean }, write: (text: string) => void = t => process.stderr.write(t)): number {
  const r = describeError(err)
  if (opts.json) {
    write(JSON.stringify({ error: { code: r.code, message: r.message, ...(r.hint !== undefined ? { hint: r.hint } : {}), ...(opts.debug && r.stack !== undefined ? { stack: r.stack } : {}) } }) + '\n')
  } else {
    write(`error: ${r.message} [${r.code}]${r.hint !== undefined ? `; ${r.hint}` : ''}\n`)
    if (opts.debug && r.stack !== undefined) write(`${r.stack}\n`)
  }
  return r.exitCode
}

/** Runs the CLI; returns the exit code. */
export async function main (argv: string[] = process.argv): Promise<number> {
  const args = argv.slice(2)
  const opts = { json: args.includes('--json'), debug: args.includes('--debug') || process.env.IPVM_DEBUG === '1' }
  const program = createProgram()
  const commands = [program, ...program.commands]
  for (const cmd of commands) {
    cmd.exitOverride()
    cmd.configureOutput({
      // commander's own errors (unknown option, missing argument): one line, with where to look
      outputError: (text, write) => {
        const message = text.replace(/^error:\s*/i, '').trim()
        if (opts.json) write(JSON.stringify({ error: { code: CliErrorCode.USAGE, message, hint: `ipvm ${cmd === program ? '' : `${cmd.name()} `}--help` } }) + '\n')
        else write(`error: ${message} [${CliErrorCode.USAGE}]; see \`ipvm ${cmd === program ? '' : `${cmd.name()} `}--help\`\n`)
      }
    })
  }
  try {
    await program.parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with a CommanderError too, code 0
      return err.exitCode === 0 ? 0 : ExitCode.USAGE
    }
    return reportError(err, opts)
  }
}
