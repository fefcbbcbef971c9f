// Draws a workflow's tasks as a graph: one column per dependency depth, an arrow from each
// awaited task to the task that awaits it.

import { s } from './dom.js'

const NODE_W = 150
const NODE_H = 44
const COL_GAP = 48
const ROW_GAP = 14
const PAD = 10
/** Past this many tasks only the table is shown. */
export const MAX_DRAWN_TASKS = 300

/** Each task's column: 0 for tasks that await nothing in the workflow, else one more than its deepest dependency. */
export function depths (tasks) {
  const memo = new Map()
  const visiting = new Set()
  const depth = i => {
    if (memo.has(i)) return memo.get(i)
    if (visiting.has(i)) return 0 // a cycle (the node refuses such a workflow): cut it
    visiting.add(i)
    const deps = tasks[i].deps.filter(d => d >= 0 && d < tasks.length)
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(depth))
    visiting.delete(i)
    memo.set(i, d)
    return d
  }
  return tasks.map((_t, i) => depth(i))
}

function clip (text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * @param {Array<{ index: number, label: string, state: string, stateText: string, deps: number[], title: string }>} tasks
 * @param {string} labelId id of the element that names the graph
 */
export function renderDag (tasks, labelId) {
  const cols = depths(tasks)
  const rowsInCol = new Map()
  const pos = tasks.map((_t, i) => {
    const col = cols[i]
    const row = rowsInCol.get(col) ?? 0
    rowsInCol.set(col, row + 1)
    return { x: PAD + col * (NODE_W + COL_GAP), y: PAD + row * (NODE_H + ROW_GAP) }
  })
  const width = PAD * 2 + (Math.max(0, ...cols) + 1) * (NODE_W + COL_GAP) - COL_GAP
  const height = PAD * 2 + Math.max(1, ...rowsInCol.values()) * (NODE_H + ROW_GAP) - ROW_GAP

  const svg = s('svg', { class: 'dag', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': labelId })
  svg.append(s('defs', {}, s('marker', { id: 'dag-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }))))

  const edges = s('g', { class: 'edges' })
  tasks.forEach((t, i) => {
    for (const d of t.deps) {
      if (pos[d] === undefined) continue
      const x1 = pos[d].x + NODE_W
      const y1 = pos[d].y + NODE_H / 2
      const x2 = pos[i].x - 2
      const y2 = pos[i].y + NODE_H / 2
      const mid = (x1 + x2) / 2
      edges.append(s('path', { class: `edge state-${tasks[d].state}`, d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, 'marker-end': 'url(#dag-arrow)' }))
    }
  })
  svg.append(edges)

  tasks.forEach((t, i) => {
    const { x, y } = pos[i]
    svg.append(s('g', { class: `task state-${t.state}`, transform: `translate(${x} ${y})`, dataset: { taskIndex: String(t.index) } },
      s('title', { text: t.title }),
      s('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
      s('text', { x: 10, y: 18, class: 'task-label', text: clip(t.label, 20) }),
      s('text', { x: 10, y: 35, class: 'task-state', text: clip(t.stateText, 22) })))
  })
  return svg
}
