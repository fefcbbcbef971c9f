import type { ReceiptNotification, WorkflowRunJson } from '../client/index.js'

/**
 * What `ipvm run` shows while a run goes on. On a terminal: the receipts as lines, under them
 * one status line redrawn in place (tasks done, retries, a sleep's wake time with a countdown).
 * Piped: the receipts and each change of status as plain lines, nothing redrawn.
 */
export class RunProgress {
  private readonly tty: boolean
  private readonly out: NodeJS.WritableStream
  private readonly total: number
  private readonly names: Map<string, string>
  private readonly started = Date.now()
  private done = 0
  private status = 'submitted'
  private retries = 0
  private wakeAt?: number
  private lastLine = ''
  private frame = 0

  constructor (opts: { tty: boolean, out?: NodeJS.WritableStream, total: number, names: Map<string, string> }) {
    this.tty = opts.tty
    this.out = opts.out ?? process.stdout
    this.total = opts.total
    this.names = opts.names
  }

  receipt (n: ReceiptNotification): void {
    this.done++
    const [tag, value] = n.receipt.out
    const name = this.names.get(n.receipt.ran['/'])
    const label = name !== undefined ? `${name} (${n.receipt.meta.op})` : n.receipt.meta.op
    this.line(`${tag === 'ok' ? 'ok   ' : 'error'}  ${label}  ${short(tag === 'ok' ? value : errorText(value))}  ${n.receipt_cid['/']}${n.metadata.replayed ? '  (replayed)' : ''}`)
  }

  /** A status notification, or a run's status read by polling. */
  update (s: { status: string, retries: number, wake_at?: number }): void {
    const before = { status: this.status, retries: this.retries }
    this.status = s.status
    this.retries = s.retries
    this.wakeAt = s.wake_at
    if (!this.tty) {
      if (s.status !== before.status && s.status !== 'running' && !isFinal(s.status)) {
        this.line(s.status === 'sleeping' && s.wake_at !== undefined ? `sleeping until ${clock(s.wake_at)}` : s.status)
      } else if (s.status === 'running' && (before.status === 'sleeping' || before.status === 'paused')) {
        this.line('running')
      }
      if (s.retries > before.retries && !isFinal(s.status)) this.line(`retrying (${s.retries} ${s.retries === 1 ? 'retry' : 'retries'} so far)`)
    }
    this.redraw()
  }

  /** From polling `workflow_status`. */
  polled (run: WorkflowRunJson): void {
    this.update({ status: run.status, retries: run.retries, ...(run.wake_at !== undefined ? { wake_at: run.wake_at } : {}) })
  }

  /** Redraws the status line (a terminal only); called on every tick. */
  redraw (): void {
    if (!this.tty) return
    const spin = '|/-\\'[this.frame++ % 4]
    const secs = Math.round((Date.now() - this.started) / 1000)
    let what: string
    if (this.status === 'sleeping' && this.wakeAt !== undefined) {
      what = `sleeping until ${clock(this.wakeAt)} (in ${Math.max(0, Math.ceil((this.wakeAt - Date.now()) / 1000))} s)`
    } else if (this.done === 0 && (this.status === 'submitted' || this.status === 'running' || this.status === 'pending')) {
      what = `${this.status === 'pending' ? 'waiting for a run slot' : 'starting'} (a Wasm module compiles on its first use)`
    } else {
      what = this.status
    }
    const retries = this.retries > 0 ? ` · ${this.retries} ${this.retries === 1 ? 'retry' : 'retries'}` : ''
    this.lastLine = `${spin} ${what} · ${this.done}/${this.total} tasks${retries} · ${secs} s`
    this.out.write(`\r\x1b[K${this.lastLine}`)
  }

  /** Clears the status line before the summary. */
  finish (): void {
    if (this.tty && this.lastLine !== '') this.out.write('\r\x1b[K')
    this.lastLine = ''
  }

  private line (text: string): void {
    if (this.tty) this.out.write(`\r\x1b[K${text}\n${this.lastLine}`)
    else this.out.write(`${text}\n`)
  }
}

function isFinal (status: string): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled'
}

function errorText (value: unknown): unknown {
  const e = value as { code?: unknown, message?: unknown } | null
  return typeof e?.message === 'string' ? `${e.message}${typeof e.code === 'string' ? ` [${e.code}]` : ''}` : value
}

function short (value: unknown): string {
  const text = typeof value === 'string' && value.includes(' [') ? value : JSON.stringify(value) ?? 'null'
  return text.length > 100 ? `${text.slice(0, 97)}...` : text
}

function clock (ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false })
}
