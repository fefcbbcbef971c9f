import { Homestar } from '@fission-codes/homestar'
import { workflow } from '@fission-codes/homestar/workflow'
import { WebsocketTransport } from '@fission-codes/channel/transports/ws.js'

/** What Homestar's client hands its receipt callback: the decoded DAG-JSON, links as CIDs. */
export type OfficialReceipt = Parameters<NonNullable<Parameters<Homestar['runWorkflow']>[1]>>[0]
export type OfficialWorkflow = Parameters<Homestar['runWorkflow']>[0]
type Template = Parameters<typeof workflow>[0]

/**
 * The client's `workflow` builder. Its published types drop the template's `name` under
 * NodeNext resolution (they import './schemas' without an extension), hence the assertion.
 */
export async function buildWorkflow (name: string, tasks: Template['workflow']['tasks']): Promise<OfficialWorkflow> {
  return await workflow({ name, workflow: { tasks } } as Template)
}

/**
 * `@fission-codes/homestar`, connected the way its users connect it: `Homestar` over its
 * `WebsocketTransport`, nothing configured. `problems` collects what it reports as errors,
 * and every exception or unhandled rejection in this process while it is open: a client
 * that cannot read a notification throws from its message handler, so the test process is
 * where that shows.
 */
export class OfficialClient {
  readonly hs: Homestar
  readonly problems: string[] = []
  private readonly onException = (err: unknown): void => { this.problems.push(`uncaught: ${String(err)}`) }
  private readonly onRejection = (reason: unknown): void => { this.problems.push(`unhandled rejection: ${String(reason)}`) }

  constructor (url: string) {
    process.on('uncaughtException', this.onException)
    process.on('unhandledRejection', this.onRejection)
    this.hs = new Homestar({ transport: new WebsocketTransport(url) })
    this.hs.on('error', err => { this.problems.push(`client error: ${String(err)}${err.cause !== undefined ? ` (${JSON.stringify(err.cause)})` : ''}`) })
  }

  /**
   * Runs a workflow with `runWorkflow` and resolves with the first `count` notifications the
   * client hands to its receipt callback, in order; fails after `timeoutMs`.
   */
  async run (workflow: OfficialWorkflow, count: number, timeoutMs: number): Promise<OfficialReceipt[]> {
    const got: OfficialReceipt[] = []
    let done: () => void = () => {}
    const enough = new Promise<void>(resolve => { done = resolve })
    const answer = await this.hs.runWorkflow(workflow, n => {
      got.push(n)
      if (got.length === count) done()
    })
    if (answer.error !== undefined) throw new Error(`runWorkflow failed: ${answer.error.message}`, { cause: answer.error })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([enough, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${got.length} of ${count} receipts within ${timeoutMs} ms; problems: ${this.problems.join('; ') || 'none'}`)), timeoutMs)
    })]).finally(() => clearTimeout(timer))
    return got
  }

  /**
   * A round trip on the client's socket: once it answers, every notification the node sent
   * before has been handed to the callbacks (frames keep their order).
   */
  async settle (): Promise<void> {
    const r = await this.hs.health()
    if (r.error !== undefined) throw r.error
  }

  close (): void {
    this.hs.close()
    process.off('uncaughtException', this.onException)
    process.off('unhandledRejection', this.onRejection)
  }
}
