// Activity figures from the `metrics` method, refreshed every few seconds, with rates from counter deltas.

import { byId, h } from './dom.js'
import { formatBytes, formatCount, formatDuration, formatRate, formatTime } from './format.js'

const REFRESH_MS = 3000

/** The figures shown, in order: key, label, and how to read them from the metric families. */
const CARDS = [
  { key: 'tasks-executed', label: 'Tasks executed' },
  { key: 'task-rate', label: 'Tasks / second' },
  { key: 'tasks-replayed', label: 'Tasks replayed' },
  { key: 'tasks-failed', label: 'Tasks failed' },
  { key: 'workflows', label: 'Active runs' },
  { key: 'peers', label: 'Peers' },
  { key: 'rpc', label: 'RPC connections' },
  { key: 'store', label: 'Store size' }
]

/** Sum of every series of a counter or gauge; NaN when the family is absent. */
function total (families, name) {
  const family = families.get(name)
  if (family === undefined) return NaN
  return family.data.reduce((sum, d) => sum + (d.value === undefined ? 0 : Number(d.value)), 0)
}

export class MetricsPanel {
  #rpc
  #onInfo
  #timer = null
  #previous = null
  #cells = new Map()
  #updated

  /**
   * @param {import('./rpc.js').RpcConnection} rpc
   * @param {{ onInfo?: Function }} [options]
   */
  constructor (rpc, { onInfo } = {}) {
    this.#rpc = rpc
    this.#onInfo = onInfo ?? (() => {})
    this.#updated = byId('metrics-updated')
    const list = byId('metrics')
    for (const card of CARDS) {
      const value = h('span', { class: 'value', text: '—' })
      const sub = h('span', { class: 'sub' })
      list.append(h('div', { class: 'stat', dataset: { metric: card.key } }, h('dt', { text: card.label }), h('dd', {}, value, sub)))
      this.#cells.set(card.key, { value, sub })
    }
  }

  start () {
    this.stop()
    const tick = async () => {
      await this.refresh()
      if (this.#timer !== null) this.#timer = setTimeout(tick, REFRESH_MS)
    }
    this.#timer = setTimeout(tick, 0)
  }

  stop () {
    clearTimeout(this.#timer)
    this.#timer = null
  }

  async refresh () {
    let result
    try {
      result = await this.#rpc.request('metrics', [{ prefix: 'ipvm_' }])
    } catch (err) {
      this.#updated.textContent = `Metrics unavailable: ${err.message}`
      return
    }
    const families = new Map(result.metrics.map(f => [f.metric_name, f]))
    const now = performance.now()
    const executed = total(families, 'ipvm_tasks_executed_total')
    const replayed = total(families, 'ipvm_tasks_replayed_total')
    const previous = this.#previous
    this.#previous = { at: now, executed, replayed }
    const seconds = previous === null ? NaN : (now - previous.at) / 1000
    const rate = (current, before) => seconds > 0 && current >= before ? (current - before) / seconds : NaN

    this.#set('tasks-executed', formatCount(executed), `${formatCount(total(families, 'ipvm_task_retries_total'))} retries`)
    this.#set('task-rate', formatRate(rate(executed, previous?.executed)), `replayed: ${formatRate(rate(replayed, previous?.replayed))} / s`)
    this.#set('tasks-replayed', formatCount(replayed), `receipts stored: ${formatCount(total(families, 'ipvm_receipts_stored_total'))}`)
    this.#set('tasks-failed', formatCount(total(families, 'ipvm_tasks_failed_total')), `workflows failed: ${formatCount(total(families, 'ipvm_workflows_failed_total'))}`)
    this.#set('workflows', formatCount(total(families, 'ipvm_workflows_running')), `completed: ${formatCount(total(families, 'ipvm_workflows_completed_total'))}`)
    this.#set('peers', formatCount(total(families, 'ipvm_network_peers')), `gossip: ${formatCount(total(families, 'ipvm_gossip_messages_total'))} messages`)
    this.#set('rpc', formatCount(total(families, 'ipvm_rpc_connections')), `${formatCount(total(families, 'ipvm_rpc_requests_total'))} requests`)
    this.#set('store', formatBytes(total(families, 'ipvm_store_size_bytes')), '')

    const info = families.get('ipvm_node_info')?.data?.[0]?.labels
    const started = total(families, 'ipvm_node_start_time_seconds')
    this.#onInfo({
      version: info?.version,
      uptime: Number.isFinite(started) && started > 0 ? formatDuration(Date.now() / 1000 - started) : undefined
    })
    this.#updated.textContent = `Updated ${formatTime(Date.now())}, every ${REFRESH_MS / 1000} s`
  }

  #set (key, value, sub) {
    const cell = this.#cells.get(key)
    cell.value.textContent = value
    cell.sub.textContent = sub
  }
}
