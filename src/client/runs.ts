/** A workflow run as `workflow_status`, `workflow_list` and the control methods give it (schemas/workflow_run.json). */
export interface WorkflowRunJson {
  workflow: { '/': string }
  name: string
  status: string
  progress: { receipts: number, tasks: number }
  tasks?: { total: number, executed: number, replayed: number, failed: number, skipped: number }
  retries: number
  restarts: number
  created_at: number
  updated_at: number
  wake_at?: number
  error?: { code: string, message: string }
}

/** A page of `workflow_list`: pass `cursor` back for the next one. */
export interface WorkflowPageJson {
  runs: WorkflowRunJson[]
  cursor?: string
}
