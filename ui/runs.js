// The runs the page knows: those it submitted (live from their subscription) and, when the node
// has workflow_list, the node's own list of runs.

import { linkCid } from './format.js'

export const FINAL_STATUSES = new Set(['completed', 'failed', 'cancelled'])
const MAX_RUNS = 50

function num (v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** A receipt notification's outcome: completed, replayed or failed. */
export function receiptState (n) {
  if (Array.isArray(n.receipt?.out) && n.receipt.out[0] === 'error') return 'failed'
  return n.metadata?.replayed === true ? 'replayed' : 'completed'
}

/**
 * A run as workflow_list and workflow_status give it (schemas/workflow_run.json), in the form
 * the page keeps; also takes a workflow_status notification.
 */
export function normalizeListedRun (item) {
  if (item === null || typeof item !== 'object') return null
  const s = item.workflow_status ?? item
  const cid = linkCid(s.workflow) ?? linkCid(s.cid)
  if (cid === undefined) return null
  const t = s.tasks
  const counts = t !== null && typeof t === 'object' && num(t.total) !== undefined
    ? { total: t.total, executed: num(t.executed) ?? 0, replayed: num(t.replayed) ?? 0, failed: num(t.failed) ?? 0, skipped: num(t.skipped) ?? 0 }
    : null
  const p = s.progress !== null && typeof s.progress === 'object' ? s.progress : {}
  return {
    cid,
    name: typeof s.name === 'string' ? s.name : cid,
    status: typeof s.status === 'string' ? s.status : 'unknown',
    counts,
    progress: { done: num(p.receipts), total: num(p.tasks) ?? counts?.total },
    retries: num(s.retries),
    error: s.error !== null && typeof s.error === 'object' ? s.error : null,
    time: num(s.created_at) ?? num(s.timestamp)
  }
}

/** The runs of a workflow_list result. */
export function listedEntries (result) {
  return Array.isArray(result?.runs) ? result.runs : []
}

export class RunStore {
  #runs = new Map()
  #listeners = new Set()
  #seq = 0
  selected = null

  onChange (fn) {
    this.#listeners.add(fn)
  }

  #changed (run, change) {
    for (const fn of this.#listeners) fn(run, change)
  }

  /** Newest first. */
  list () {
    return [...this.#runs.values()].sort((a, b) => b.time - a.time)
  }

  get (key) {
    return this.#runs.get(key)
  }

  select (key) {
    this.selected = key
    this.#changed(this.#runs.get(key), 'selected')
  }

  /** A run submitted from this page, before the node has answered. */
  addSubmitted (name, text) {
    const run = {
      key: `page-${++this.#seq}`,
      source: 'page',
      name: name !== '' ? name : null,
      text,
      workflow: null,
      status: 'submitting',
      final: false,
      live: false,
      counts: null,
      progress: null,
      retries: 0,
      error: null,
      plan: null,
      planError: null,
      receipts: new Map(),
      time: Date.now()
    }
    this.#runs.set(run.key, run)
    this.#trim()
    this.#changed(run, 'added')
    return run
  }

  update (key, patch) {
    const run = this.#runs.get(key)
    if (run === undefined) return
    Object.assign(run, patch)
    this.#changed(run, 'updated')
  }

  /** Applies a subscribe_run_workflow notification: a receipt, or a status. */
  apply (key, n) {
    const run = this.#runs.get(key)
    if (run === undefined || n === null || typeof n !== 'object') return
    if ('receipt' in n) {
      const ran = linkCid(n.receipt?.ran)
      if (ran !== undefined) run.receipts.set(ran, n)
      run.workflow ??= linkCid(n.metadata?.workflow) ?? null
      if (run.name === null && typeof n.metadata?.name === 'string') run.name = n.metadata.name
      if (!run.final) run.status = 'running'
      this.#changed(run, 'receipt')
    } else if ('workflow_status' in n) {
      const s = n.workflow_status
      run.workflow ??= linkCid(s.workflow) ?? null
      if (run.name === null && typeof s.name === 'string') run.name = s.name
      run.status = s.status
      run.final = s.final === true || FINAL_STATUSES.has(s.status)
      run.counts = s.tasks ?? run.counts
      run.retries = s.retries ?? run.retries
      run.error = s.error ?? null
      this.#changed(run, run.final ? 'final' : 'status')
    }
  }

  /** Merges the node's list: runs this page submitted keep their live state. */
  mergeListed (entries) {
    for (const entry of entries) {
      const mine = [...this.#runs.values()].filter(r => r.source === 'page' && r.workflow === entry.cid)
      if (mine.length > 0) {
        // one entry per submission from this page; the node's entry for the same workflow goes
        if (this.selected !== `node-${entry.cid}`) this.#runs.delete(`node-${entry.cid}`)
        const newest = mine.sort((a, b) => b.time - a.time)[0]
        if (!newest.live && !newest.final) this.applyListed(newest, entry)
        continue
      }
      const key = `node-${entry.cid}`
      let run = this.#runs.get(key)
      if (run === undefined) {
        run = { key, source: 'node', name: entry.name, text: null, workflow: entry.cid, status: entry.status, final: false, live: false, counts: null, progress: null, retries: 0, error: null, plan: null, planError: null, receipts: new Map(), time: entry.time ?? Date.now() }
        this.#runs.set(key, run)
      }
      this.applyListed(run, entry)
    }
    this.#trim()
  }

  /** Takes status and progress from a workflow_list or workflow_status entry. */
  applyListed (run, entry) {
    run.status = entry.status
    run.final = FINAL_STATUSES.has(entry.status)
    if (entry.counts !== null) run.counts = entry.counts
    run.progress = entry.progress
    if (entry.retries !== undefined) run.retries = entry.retries
    if (entry.error !== null) run.error = entry.error
    if (entry.time !== undefined && run.source === 'node') run.time = entry.time
    this.#changed(run, 'updated')
  }

  /** Receipts the node filed under a run (workflow_receipts), keyed like notifications by `ran`. */
  setReceipts (key, records) {
    const run = this.#runs.get(key)
    if (run === undefined) return
    for (const r of records) {
      const ran = linkCid(r?.receipt?.ran)
      if (ran !== undefined && !run.receipts.has(ran)) run.receipts.set(ran, { receipt: r.receipt, receipt_cid: r.receipt_cid })
    }
    this.#changed(run, 'receipt')
  }

  #trim () {
    const runs = this.list()
    for (const run of runs.slice(MAX_RUNS)) if (run.key !== this.selected) this.#runs.delete(run.key)
  }
}

/** Reads workflow_list every few seconds, when the node has it. */
export class NodeRunsPoller {
  #rpc
  #store
  #timer = null
  #everyMs

  #onListed

  constructor (rpc, store, { everyMs = 5000, onListed = () => {} } = {}) {
    this.#rpc = rpc
    this.#store = store
    this.#everyMs = everyMs
    this.#onListed = onListed
  }

  start () {
    this.stop()
    const tick = async () => {
      try {
        const result = await this.#rpc.request('workflow_list', { limit: MAX_RUNS })
        this.#store.mergeListed(listedEntries(result).map(normalizeListedRun).filter(e => e !== null))
        this.#onListed()
      } catch {
        // shown as stale data; the next read may work
      }
      if (this.#timer !== null) this.#timer = setTimeout(tick, this.#everyMs)
    }
    this.#timer = setTimeout(tick, 0)
  }

  stop () {
    clearTimeout(this.#timer)
    this.#timer = null
  }
}

/**
 * Brings a run up to date from the node: its status (workflow_status) and the receipts filed
 * under it (workflow_receipts), for the methods the node has.
 */
export async function refreshFromNode (rpc, methods, store, run) {
  if (run.workflow === null) return
  const cid = run.workflow
  const [status, receipts] = await Promise.all([
    methods.has('workflow_status') ? rpc.request('workflow_status', { cid }).catch(() => null) : null,
    methods.has('workflow_receipts') ? rpc.request('workflow_receipts', { cid }).catch(() => null) : null
  ])
  const entry = normalizeListedRun(status)
  if (entry !== null && !run.live) store.applyListed(run, entry)
  if (Array.isArray(receipts)) store.setReceipts(run.key, receipts)
}
