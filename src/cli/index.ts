import { Command, CommanderError } from 'commander'
import { IpvmError } from '../util/errors.js'
import { packageVersion } from '../util/package.js'
import { CliError } from './shared.js'
import { startCommand } from './commands/start.js'
import { stopCommand } from './commands/stop.js'
import { initCommand } from './commands/init.js'
import { healthCommand } from './commands/health.js'
import { nodeCommand } from './commands/node.js'
import { addCommand } from './commands/add.js'
import { runCommand } from './commands/run.js'
import { statusCommand } from './commands/status.js'
import { controlCommands } from './commands/control.js'

export function createProgram (): Command {
  const program = new Command('ipvm')
    .description('ipvm: a node that runs IPVM workflows (Homestar-compatible)')
    .version(packageVersion, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
  for (const cmd of [startCommand(), stopCommand(), initCommand(), healthCommand(), nodeCommand(), addCommand(), runCommand(), statusCommand(), ...controlCommands()]) program.addCommand(cmd)
  return program
}

/** Runs the CLI; returns the exit code. */
export async function main (argv: string[] = process.argv): Promise<number> {
  const program = createProgram()
  program.exitOverride()
  for (const cmd of program.commands) cmd.exitOverride()
  try {
    await program.parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`)
      return err.exitCode
    }
    if (err instanceof IpvmError) {
      process.stderr.write(`error: ${err.message} [${err.code}]\n`)
      return 1
    }
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`)
    return 1
  }
}
