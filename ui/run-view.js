// The runs list and the selected run's details: summary, task graph and receipts table.

import { byId, h, replaceChildren } from './dom.js'
import { formatTime, formatValue, shortCid } from './format.js'
import { MAX_DRAWN_TASKS, renderDag } from './dag.js'
import { receiptState } from './runs.js'

const STATE_TEXT = { waiting: 'waiting', running: 'running', completed: 'completed', replayed: 'replayed', failed: 'failed', skipped: 'not run' }

/** Tasks done and total of a run, from its status counts, else from its receipts and plan. */
export function progressOf (run) {
  const total = run.counts?.total ?? run.progress?.total ?? run.plan?.tasks.length
  const counted = run.counts === null ? 0 : run.counts.executed + run.counts.replayed + run.counts.failed
  const done = Math.max(run.receipts.size, counted, run.progress?.done ?? 0)
  return { done, total }
}

/** One row per task: from the plan in workflow order, then any receipt the plan does not name. */
export function taskRows (run) {
  const rows = []
  const matched = new Set()
  if (run.plan !== null) {
    for (const t of run.plan.tasks) {
      const n = run.receipts.get(t.ran)
      if (n !== undefined) matched.add(t.ran)
      rows.push({ index: t.index, ran: t.ran, func: t.func ?? t.op, deps: t.awaits.filter(a => a.task !== null).map(a => a.task), external: t.awaits.filter(a => a.task === null).length, notification: n, state: n === undefined ? null : receiptState(n) })
    }
    for (const row of rows) {
      if (row.state !== null) continue
      const depsDone = row.deps.every(d => rows[d]?.state === 'completed' || rows[d]?.state === 'replayed')
      row.state = run.final ? 'skipped' : depsDone && run.status === 'running' ? 'running' : 'waiting'
    }
  }
  for (const [ran, n] of run.receipts) {
    if (!matched.has(ran)) rows.push({ index: null, ran, func: n.receipt?.meta?.op ?? '?', deps: [], external: 0, notification: n, state: receiptState(n) })
  }
  return rows
}

function outputText (n) {
  const [tag, value] = Array.isArray(n.receipt?.out) ? n.receipt.out : ['?', undefined]
  if (tag === 'error' && value !== null && typeof value === 'object') {
    const text = `${value.code ?? 'error'}: ${value.message ?? ''}${value.attempts !== undefined ? ` (${value.attempts} attempt${value.attempts === 1 ? '' : 's'})` : ''}`
    return { text, full: text }
  }
  return formatValue(value, 60)
}

function statusBadge (status) {
  return h('span', { class: 'badge', dataset: { status }, text: status })
}

/** The runs list, updated in place so keyboard focus stays where it is. */
export class RunsList {
  #store
  #items = new Map()

  constructor (store) {
    this.#store = store
  }

  render () {
    const list = byId('runs')
    const runs = this.#store.list()
    byId('runs-empty').hidden = runs.length > 0
    const keep = new Set(runs.map(r => r.key))
    for (const [key, item] of this.#items) if (!keep.has(key)) { item.li.remove(); this.#items.delete(key) }
    runs.forEach((run, position) => {
      let item = this.#items.get(run.key)
      if (item === undefined) {
        item = this.#create(run)
        this.#items.set(run.key, item)
      }
      if (list.children[position] !== item.li) list.insertBefore(item.li, list.children[position] ?? null)
      this.#update(item, run)
    })
  }

  #create (run) {
    const name = h('span', { class: 'run-name' })
    const badge = statusBadge('')
    const progress = h('progress', { max: 1, value: 0 })
    const meta = h('span', { class: 'run-meta' })
    const button = h('button', { type: 'button', class: 'run', onclick: () => this.#store.select(run.key) }, h('span', { class: 'run-title' }, name, badge), progress, meta)
    const li = h('li', { dataset: { runKey: run.key } }, button)
    return { li, button, name, badge, progress, meta }
  }

  #update (item, run) {
    const { done, total } = progressOf(run)
    item.name.textContent = run.name ?? (run.workflow !== null ? shortCid(run.workflow) : 'unnamed run')
    item.badge.textContent = run.status
    item.badge.dataset.status = run.status
    item.li.dataset.status = run.status
    if (total !== undefined && total > 0) {
      item.progress.max = total
      item.progress.value = Math.min(done, total)
    } else if (run.final) {
      item.progress.max = 1
      item.progress.value = run.status === 'completed' ? 1 : 0
    } else {
      item.progress.removeAttribute('value')
    }
    item.progress.setAttribute('aria-label', `${done} of ${total ?? '?'} tasks done`)
    item.meta.textContent = `${done}/${total ?? '?'} tasks · ${formatTime(run.time)}${run.source === 'node' ? ' · from the node' : ''}`
    const selected = this.#store.selected === run.key
    item.li.classList.toggle('selected', selected)
    if (selected) item.button.setAttribute('aria-current', 'true')
    else item.button.removeAttribute('aria-current')
  }
}

/** What each control button asks of the node, and the statuses it applies to. */
const CONTROLS = [
  { action: 'pause', label: 'Pause', when: ['running', 'sleeping'] },
  { action: 'resume', label: 'Resume', when: ['paused'] },
  { action: 'cancel', label: 'Cancel', when: ['pending', 'running', 'sleeping', 'paused'] }
]

/** The selected run's details. */
export class RunDetail {
  #key = null
  #parts = null
  #canControl
  #onControl
  #selfId

  /**
   * `canControl(action)`: whether the node has `workflow_<action>`; `onControl(key, action)`:
   * called when a control button is pressed for the run with that key; `selfId()`: this
   * node's peer id, once known (a task it ran is shown as run here).
   */
  constructor ({ canControl = () => false, onControl = () => {}, selfId = () => null } = {}) {
    this.#canControl = canControl
    this.#onControl = onControl
    this.#selfId = selfId
  }

  render (run) {
    const root = byId('detail')
    if (run === undefined) return
    if (this.#key !== run.key || this.#parts === null) {
      this.#key = run.key
      this.#parts = this.#skeleton(run)
      replaceChildren(root, this.#parts.nodes)
    }
    this.#update(run)
  }

  #skeleton (run) {
    const title = h('h3', { id: 'detail-title' })
    const badge = statusBadge('')
    const summary = h('p', { class: 'summary', 'aria-live': 'polite', 'aria-atomic': 'true' })
    const facts = h('dl', { class: 'facts' })
    const graph = h('div', { class: 'dag-scroll', tabindex: '0', role: 'region', 'aria-label': 'Task graph (scrollable)' })
    const caption = h('figcaption', { id: 'dag-caption', class: 'muted small' })
    const tbody = h('tbody')
    const tableCaption = h('caption')
    const table = h('table', { class: 'tasks' },
      tableCaption,
      h('thead', {}, h('tr', {}, ...['Task', 'Function', 'Awaits', 'State', 'Output', 'Ran on', 'Receipt CID'].map(t => h('th', { scope: 'col', text: t })))),
      tbody)
    const note = h('p', { class: 'muted small' })
    const buttons = CONTROLS.map(c => h('button', { type: 'button', class: 'control', dataset: { action: c.action }, text: c.label, onclick: () => this.#onControl(this.#key, c.action) }))
    const controls = h('div', { class: 'controls', role: 'group', 'aria-label': 'Steer this run' }, ...buttons)
    return { title, badge, summary, controls, buttons, facts, graph, caption, tableCaption, tbody, note, nodes: [h('div', { class: 'detail-head' }, title, badge), summary, controls, facts, h('figure', { class: 'graph' }, graph, caption), note, h('div', { class: 'table-scroll' }, table)] }
  }

  #update (run) {
    const p = this.#parts
    p.title.textContent = run.name ?? (run.workflow !== null ? shortCid(run.workflow) : 'unnamed run')
    p.badge.textContent = run.status
    p.badge.dataset.status = run.status
    const { done, total } = progressOf(run)
    const c = run.counts
    const counts = c === null ? '' : `: ${c.executed} executed, ${c.replayed} replayed, ${c.failed} failed${c.skipped > 0 ? `, ${c.skipped} skipped` : ''}`
    p.summary.textContent = run.status === 'refused'
      ? 'The node refused this workflow.'
      : `${done} of ${total ?? '?'} tasks done${counts}${run.retries > 0 ? ` · ${run.retries} retries` : ''}${run.final ? '' : run.live ? ' · live' : ''}`

    // only for a run the node knows (it has a CID) and that has not ended
    CONTROLS.forEach((c, i) => { p.buttons[i].hidden = run.final || run.workflow === null || !c.when.includes(run.status) || !this.#canControl(c.action) })
    p.controls.hidden = p.buttons.every(b => b.hidden)

    const facts = [['Workflow CID', run.workflow !== null ? h('code', { class: 'cid', text: run.workflow }) : '—'], ['Submitted', formatTime(run.time)]]
    if (run.error !== null) facts.push(['Error', h('span', { class: 'error-text', text: `${run.error.code ?? ''} ${run.error.message ?? ''}`.trim() })])
    if (!run.live && !run.final && run.source === 'page' && run.status !== 'submitting') facts.push(['Note', 'the connection to the node was lost; the run goes on there'])
    replaceChildren(p.facts, facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]))

    const rows = taskRows(run)
    const drawable = run.plan !== null && run.plan.tasks.length > 0 && run.plan.tasks.length <= MAX_DRAWN_TASKS
    p.graph.hidden = !drawable
    if (drawable) {
      const planned = rows.filter(r => r.index !== null)
      replaceChildren(p.graph, renderDag(planned.map(r => ({
        index: r.index,
        label: `#${r.index + 1} ${r.func}`,
        state: r.state,
        stateText: STATE_TEXT[r.state] ?? r.state,
        deps: r.deps,
        title: `Task ${r.index + 1} (${r.func}): ${STATE_TEXT[r.state] ?? r.state}${r.notification !== undefined ? `, receipt ${r.notification.receipt_cid?.['/']}` : ''}`
      })), 'dag-caption'))
      p.caption.textContent = `Task graph of ${planned.length} task${planned.length === 1 ? '' : 's'}: an arrow goes from a task to each task that awaits its result.`
    } else {
      p.caption.textContent = ''
    }
    p.note.textContent = run.plan === null
      ? (run.planError !== null ? `Task graph unavailable: ${run.planError}` : '')
      : run.plan.tasks.length > MAX_DRAWN_TASKS ? `The graph is not drawn for more than ${MAX_DRAWN_TASKS} tasks.` : ''

    p.tableCaption.textContent = run.plan !== null ? 'Tasks and their receipts, in workflow order' : 'Receipts, in the order they came'
    replaceChildren(p.tbody, rows.map(r => {
      const n = r.notification
      const out = n === undefined ? null : outputText(n)
      const receiptCid = n?.receipt_cid?.['/']
      const executor = n?.metadata?.executor
      return h('tr', { dataset: { taskIndex: r.index === null ? 'extra' : String(r.index), state: r.state, ran: r.ran } },
        h('th', { scope: 'row', text: r.index === null ? '—' : `#${r.index + 1}` }),
        h('td', {}, h('code', { text: r.func })),
        h('td', { text: [...r.deps.map(d => `#${d + 1}`), ...(r.external > 0 ? [`${r.external} outside`] : [])].join(', ') || '—' }),
        h('td', {}, h('span', { class: 'badge', dataset: { status: r.state }, text: STATE_TEXT[r.state] ?? r.state })),
        h('td', {}, out === null ? '—' : h('code', { class: r.state === 'failed' ? 'error-text' : undefined, title: out.full, text: out.text })),
        h('td', { dataset: { executor: executor ?? '' } }, executor === undefined ? '—' : executor === this.#selfId() ? 'this node' : h('code', { title: executor, text: shortCid(executor, 8, 6) })),
        h('td', {}, receiptCid === undefined ? '—' : h('code', { class: 'cid', dataset: { receiptCid }, text: receiptCid })))
    }))
  }
}
