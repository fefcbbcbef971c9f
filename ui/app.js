// The dashboard: connects to the node that served this page and shows it at work.

import { byId } from './dom.js'
import { RpcConnection } from './rpc.js'
import { MetricsPanel } from './metrics-panel.js'
import { NodePanel } from './node-panel.js'
import { NodeRunsPoller, RunStore, normalizeListedRun, refreshFromNode } from './runs.js'
import { RunDetail, RunsList, progressOf } from './run-view.js'

const token = new URLSearchParams(location.search).get('token')
/** Appended to every URL of this node: a node with rpc.auth_token takes its token as `?token=`. */
const query = token !== null && token !== '' ? `?token=${encodeURIComponent(token)}` : ''
const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/${query}`

const store = new RunStore()
const runsList = new RunsList(store)
let selfId = null
const detail = new RunDetail({
  canControl: action => methods.has(`workflow_${action}`),
  onControl: (key, action) => { void controlRun(key, action) },
  selfId: () => selfId
})
let methods = new Map()

const connection = byId('connection')
const rpc = new RpcConnection(wsUrl, { onState, onOpen })
const metrics = new MetricsPanel(rpc, { onInfo })
const network = new NodePanel(rpc, { onIdentity })
const poller = new NodeRunsPoller(rpc, store, {
  onListed: () => {
    // the selected run, when it is one of the node's, gets its new receipts
    const run = store.get(store.selected)
    if (run?.source === 'node' && (!run.final || run.receipts.size < (run.progress?.done ?? 0))) void refreshFromNode(rpc, methods, store, run)
  }
})

function onState (state, detailInfo) {
  connection.dataset.state = state
  if (state === 'connecting') connection.textContent = 'Connecting…'
  if (state === 'open') connection.textContent = `Connected to ${location.host}`
  if (state === 'closed') {
    connection.textContent = `Disconnected; retrying in ${Math.round(detailInfo.retryInMs / 1000)} s`
    metrics.stop()
    network.stop()
    poller.stop()
    for (const run of store.list()) if (run.live) store.update(run.key, { live: false })
  }
}

async function onOpen () {
  // the first figures and runs are asked for at once, beside the (larger) API document
  metrics.start()
  poller.start()
  try {
    const doc = await rpc.request('rpc.discover')
    methods = new Map(doc.methods.map(m => [m.name, m]))
  } catch {
    methods = new Map()
  }
  void network.start(new Set(methods.keys()))
  byId('runs-source').textContent = methods.has('workflow_list')
    ? 'Runs submitted here, live, and the node\'s other runs, read every 5 s.'
    : 'Runs submitted from this page, live.'
  if (!methods.has('workflow_list')) poller.stop()
  // runs that were going on when the connection dropped
  for (const run of store.list()) {
    if (!run.final && !run.live) await refreshFromNode(rpc, methods, store, run)
  }
}

function onIdentity (peerId) {
  selfId = peerId
  const el = byId('peer-id')
  el.textContent = peerId
}

function onInfo ({ version, uptime }) {
  byId('node-version').textContent = [version !== undefined ? `v${version}` : '', uptime !== undefined ? `up ${uptime}` : ''].filter(Boolean).join(' · ')
}

let frame = 0
store.onChange((run, change) => {
  if (change === 'final' && run.source === 'page') announceFinal(run)
  if (change === 'selected' && run?.source === 'node') {
    void refreshFromNode(rpc, methods, store, run)
    if (run.plan === null && run.planError === null && run.workflow !== null) {
      fetchStoredPlan(run.workflow).then(
        plan => store.update(run.key, { plan }),
        err => store.update(run.key, { planError: err.message }))
    }
  }
  if (frame !== 0) return
  frame = requestAnimationFrame(() => {
    frame = 0
    runsList.render()
    detail.render(store.get(store.selected))
  })
})

const feedback = byId('run-feedback')

function announceFinal (run) {
  const { done, total } = progressOf(run)
  feedback.textContent = `Run “${run.name ?? run.workflow}” ${run.status}: ${done} of ${total ?? '?'} tasks.`
}

const PAST = { pause: 'paused', resume: 'resumed', cancel: 'cancelled' }

/** Pauses, resumes or cancels a run on the node; the answer is the run's new state. */
async function controlRun (key, action) {
  const run = store.get(key)
  if (run?.workflow === null || run?.workflow === undefined) return
  const label = run.name ?? run.workflow
  try {
    const entry = normalizeListedRun(await rpc.request(`workflow_${action}`, [run.workflow]))
    if (entry !== null) store.applyListed(run, entry)
    feedback.textContent = `Run “${label}” ${PAST[action]}.`
  } catch (err) {
    const reason = typeof err.describe === 'function' ? err.describe() : err.message
    feedback.textContent = `Could not ${action} run “${label}”: ${reason}`
  }
}

/** The workflow's task graph and CIDs, which the node computes from the same text. */
async function fetchPlan (text) {
  const res = await fetch(`/ui/plan${query}`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } })
  const body = await res.json()
  if (!res.ok) throw new Error(body?.error?.data?.message ?? body?.error?.message ?? `HTTP ${res.status}`)
  return body
}

/** The task graph of a run the node stored (submitted elsewhere, e.g. with `ipvm run`). */
async function fetchStoredPlan (cid) {
  const res = await fetch(`/ui/plan?workflow=${encodeURIComponent(cid)}${query.replace('?', '&')}`)
  const body = await res.json()
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`)
  return body
}

const form = byId('run-form')
const textarea = /** @type {HTMLTextAreaElement} */ (byId('run-workflow'))
const nameInput = /** @type {HTMLInputElement} */ (byId('run-name'))
const submit = /** @type {HTMLButtonElement} */ (byId('run-submit'))

form.addEventListener('submit', event => {
  event.preventDefault()
  void submitWorkflow()
})

async function submitWorkflow () {
  const text = textarea.value
  const name = nameInput.value.trim()
  if (text.trim() === '') {
    textarea.setAttribute('aria-invalid', 'true')
    feedback.textContent = 'Paste a workflow first.'
    textarea.focus()
    return
  }
  if (!rpc.isOpen) {
    feedback.textContent = 'Not connected to the node.'
    return
  }
  textarea.removeAttribute('aria-invalid')
  const run = store.addSubmitted(name, text)
  store.select(run.key)
  submit.disabled = true
  feedback.textContent = 'Submitting…'
  try {
    // the workflow text goes into the frame as typed: parsing and re-serializing it would change numbers like 1.0
    // options: plain JSON notifications, and the run's status ones too (Homestar sends receipts only)
    const params = `[{${name !== '' ? `"name":${JSON.stringify(name)},` : ''}"workflow":${text}},{"format":"json","status":true}]`
    const subscription = await rpc.requestRaw('subscribe_run_workflow', params)
    store.update(run.key, { status: run.status === 'submitting' ? 'pending' : run.status, live: true })
    // asked only once the node has taken the workflow: a refused one has no graph to draw
    fetchPlan(text).then(
      plan => store.update(run.key, { plan, workflow: run.workflow ?? plan.workflow }),
      err => store.update(run.key, { planError: err.message }))
    rpc.listen(subscription, {
      onNotification: n => {
        store.apply(run.key, n)
        if (run.final) {
          store.update(run.key, { live: false })
          void rpc.unsubscribe('unsubscribe_run_workflow', subscription)
        }
      },
      onEnd: () => store.update(run.key, { live: false })
    })
    if (!run.final) feedback.textContent = `Submitted “${name !== '' ? name : 'unnamed run'}”.`
  } catch (err) {
    const reason = typeof err.describe === 'function' ? err.describe() : err.message
    store.update(run.key, { status: 'refused', final: true, error: { code: err.nodeCode ?? String(err.code ?? ''), message: reason } })
    textarea.setAttribute('aria-invalid', 'true')
    feedback.textContent = `The node refused the workflow: ${reason}`
  } finally {
    submit.disabled = false
  }
}

rpc.start()
