/** What a user can do about an error, by code: the second half of the CLI's one-line errors. */
const HINTS: Record<string, string> = {
  RESOURCE_UNAVAILABLE: 'put the Wasm file next to the workflow file (`ipvm run` adds it), or add it with `ipvm add FILE`',
  WORKFLOW_NOT_FOUND: '`ipvm status` lists the runs this node knows',
  WORKFLOW_STATE: '`ipvm status CID` shows the run\'s state',
  WORKFLOW_BUSY: 'the node runs as many workflows as workflow.max_runs allows; try again later',
  WORKFLOW_TOO_LARGE: 'split the workflow, or raise workflow.max_tasks',
  STORE_LOCKED: 'another process uses this data folder: stop it (`ipvm stop`), or pass another --data',
  RPC_INVALID_PARAMS: '`ipvm workflow FILE` checks a workflow without running it',
  RPC_UNAUTHORIZED: 'pass --token TOKEN (or set IPVM_RPC__AUTH_TOKEN)',
  RPC_RATE_LIMITED: 'slow down, or raise rpc.max_requests_per_second',
  RUNTIME_FUNCTION_NOT_FOUND: 'check the task\'s "func" against the functions the Wasm exports',
  RUNTIME_BAD_ARGUMENT: 'check the task\'s "args" against the function\'s parameters',
  RUNTIME_TRAP: 'the Wasm function failed; its dependents were skipped',
  RUNTIME_TIMEOUT: 'the task ran longer than its meta.time (or workflow.default_timeout_ms)',
  EADDRINUSE: 'another process listens there: stop it, or pick another port (--rpc-port N, --metrics-port N; 0 picks a free one)',
  EACCES: 'no permission: check the folder or port (ports below 1024 need privileges)'
}

const PREFIX_HINTS: Array<[string, string]> = [
  ['CONFIG_', 'README\'s configuration table lists every key, its type and default'],
  ['IPLD_', 'README, "Writing a workflow", describes the format']
]

export function hintFor (code: string): string | undefined {
  return HINTS[code] ?? PREFIX_HINTS.find(([p]) => code.startsWith(p))?.[1]
}
