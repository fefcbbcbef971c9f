import { Command } from 'commander'
import { writeFile } from 'node:fs/promises'
import { CliError, CliErrorCode } from '../errors.js'
import { print } from '../shared.js'

/**
 * `ipvm workflow FILE`: checks a workflow file without running it and prints its CIDs: the
 * workflow's, and each task's instruction CID (what `await/ok` points to). The authoring form
 * (tasks with names) is compiled to Homestar's JSON, which `-o FILE` writes.
 */
export function workflowCommand (): Command {
  return new Command('workflow')
    .description('check a workflow file, print its CIDs, and compile the authoring form to Homestar\'s JSON')
    .argument('<file>', 'workflow file: Homestar\'s JSON, or the authoring form (tasks with names)')
    .option('-o, --output <file>', 'write the workflow as Homestar\'s JSON to this file ("-" for stdout)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, flags: { output?: string, json?: boolean }) => {
      // loaded when a workflow file is read: its compiler and planner (the store's and the
      // dashboard's code) are not what `ipvm --help` or a client command should wait for
      const { readWorkflowFile } = await import('../workflow-file.js')
      const wf = await readWorkflowFile(file)
      const names = new Map([...wf.names].map(([ran, name]) => [ran, name]))
      const tasks = wf.plan.tasks.map(t => ({
        name: names.get(t.ran) ?? null,
        index: t.index,
        instruction: t.instruction,
        ran: t.ran,
        op: t.op,
        func: t.func,
        resource: t.resource,
        awaits: t.awaits.map(a => a.task !== null ? (names.get(wf.plan.tasks[a.task].ran) ?? a.task) : a.cid)
      }))
      if (flags.output === '-') {
        print(wf.text)
        return
      }
      if (flags.output !== undefined) {
        try {
          await writeFile(flags.output, wf.text.endsWith('\n') ? wf.text : `${wf.text}\n`)
        } catch (err) {
          throw new CliError(CliErrorCode.FILE_UNREADABLE, `cannot write ${flags.output}: ${(err as Error).message}`)
        }
      }
      if (flags.json === true) {
        print(JSON.stringify({ workflow: wf.plan.workflow, name: wf.name ?? null, tasks, files: wf.files, missing: wf.missing }))
        return
      }
      const rows = [['TASK', 'INSTRUCTION CID', 'RUNS', 'AWAITS'], ...tasks.map(t => [
        t.name ?? String(t.index), t.instruction, t.func !== null ? `${t.op} ${t.func}` : t.op, t.awaits.length === 0 ? '-' : t.awaits.join(', ')
      ])]
      const widths = rows[0].map((_c, i) => Math.max(...rows.map(r => String(r[i]).length)))
      const lines = [`workflow  ${wf.plan.workflow}${wf.name !== undefined ? `  (${wf.name})` : ''}`, '']
      lines.push(...rows.map(r => r.map((c, i) => i === r.length - 1 ? String(c) : String(c).padEnd(widths[i])).join('  ')))
      for (const f of wf.files) lines.push(`wasm      ${f.cid}  ${f.path}`)
      for (const cid of wf.missing) lines.push(`missing   ${cid}  (no file beside ${file} has it: \`ipvm add FILE\` it, or the node must already have it)`)
      if (flags.output !== undefined) lines.push(`wrote     ${flags.output}`)
      print(lines.join('\n'))
    })
}
