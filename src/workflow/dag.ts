import { WorkflowError, WorkflowErrorCode } from './errors.js'

export interface DagInput {
  /** Instruction CID (string form): the task's name in awaits. */
  id: string
  /** Instruction CIDs this task's arguments await. */
  awaits: string[]
}

export interface DagNode {
  index: number
  id: string
  /** Indices of tasks in this workflow that this one awaits. */
  deps: number[]
  /** Indices of tasks that await this one. */
  dependents: number[]
  /** Awaited instruction CIDs that are not tasks of this workflow. */
  external: string[]
}

export interface Dag {
  nodes: DagNode[]
  /** Indices in an order where every task comes after the tasks it awaits; ties keep workflow order. */
  order: number[]
  /** Every awaited CID that is not in the workflow. */
  external: string[]
}

/**
 * The task graph of a workflow from its awaits. Instruction CIDs cannot form a cycle
 * (a task would have to contain its own hash), but a hand-made workflow can still name
 * tasks that await each other, so cycles are detected rather than assumed away.
 */
export function buildDag (tasks: DagInput[]): Dag {
  const byId = new Map<string, number>()
  tasks.forEach((t, i) => {
    const first = byId.get(t.id)
    if (first !== undefined) {
      throw new WorkflowError(WorkflowErrorCode.DUPLICATE_TASK, `workflow cannot contain duplicate tasks: tasks ${first} and ${i} have the same instruction ${t.id}; use a nonce (nnc field) to make them unique`, { instruction: t.id, tasks: [first, i] })
    }
    byId.set(t.id, i)
  })
  const nodes: DagNode[] = tasks.map((t, index) => ({ index, id: t.id, deps: [], dependents: [], external: [] }))
  const external = new Set<string>()
  tasks.forEach((t, i) => {
    for (const awaited of new Set(t.awaits)) {
      const dep = byId.get(awaited)
      if (dep === undefined) {
        nodes[i].external.push(awaited)
        external.add(awaited)
      } else {
        nodes[i].deps.push(dep)
        nodes[dep].dependents.push(i)
      }
    }
  })
  // Kahn's algorithm, smallest index first, so the order is stable and follows the workflow
  const remaining = nodes.map(n => n.deps.length)
  const ready = nodes.filter(n => n.deps.length === 0).map(n => n.index)
  const order: number[] = []
  while (ready.length > 0) {
    ready.sort((a, b) => a - b)
    const i = ready.shift()!
    order.push(i)
    for (const d of nodes[i].dependents) {
      remaining[d]--
      if (remaining[d] === 0) ready.push(d)
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.filter(n => !order.includes(n.index)).map(n => n.index)
    throw new WorkflowError(WorkflowErrorCode.INVALID, `workflow tasks ${stuck.join(', ')} await each other in a cycle`, { tasks: stuck })
  }
  return { nodes, order, external: [...external] }
}
