import { decode, IpldError, IpldErrorCode, parseJson, parseWorkflowSliced, parseWorkflowTasks, type Ipld, type Workflow } from '../../ipld/index.js'
import { WorkflowError, WorkflowErrorCode } from '../../workflow/index.js'
import { defaultConfig } from '../../config/index.js'
import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import type { RequestContext } from '../context.js'
import { JsonSpan } from '../json-scan.js'
import { RpcError, RpcErrorCode } from '../errors.js'
import { cborNestingExceeds } from '../limits.js'
import { runExecution, runNotification, type SubscriptionOptions } from '../notifications.js'
import { timeSlicer } from '../turns.js'

interface RunParams { run: { name?: string, workflow: unknown } | number[], options?: SubscriptionOptions }

/**
 * Longest run name, in characters: a name is copied into every notification of its run.
 * `api.json` says the same (`maxLength` of the `name` param), for the JSON forms; this
 * applies it to the DAG-CBOR form.
 */
export const MAX_RUN_NAME_LENGTH = 256

export interface RunWorkflowLimits {
  /** Deepest nesting of the DAG-CBOR form, as of a JSON message. @default 64 (`rpc.max_json_depth`) */
  maxJsonDepth: number
  /** Most tasks in a workflow, checked before its CIDs are computed. @default 10000 (`workflow.max_tasks`) */
  maxTasks: number
}

export const defaultRunWorkflowLimits: RunWorkflowLimits = { maxJsonDepth: defaultConfig.rpc.max_json_depth, maxTasks: defaultConfig.workflow.max_tasks }

/**
 * `subscribe_run_workflow`: validates and starts a workflow (or joins its run in progress)
 * and streams a notification per receipt, plus the run's `workflow_status` notifications to a
 * subscriber that asks for them (`status: true`). Takes `[{name, workflow}]` (Homestar's
 * form), `{name, workflow}`, or `[[bytes…]]`: the DAG-CBOR of `{name, workflow}`; the
 * subscription's options go second (`[run, options]`, `{run, options}`) or, in the
 * `{name, workflow}` form, under `options`.
 */
export function subscribeRunWorkflowMethod (services: Pick<RpcServices, 'workflows' | 'peerId'>, limits: RunWorkflowLimits = defaultRunWorkflowLimits): MethodDefinition<RunParams, string> {
  return {
    name: 'subscribe_run_workflow',
    subscription: true,
    normalizeParams: params => {
      if (params !== null && typeof params === 'object' && !Array.isArray(params) && !('run' in params)) {
        const { options, ...run } = params as Record<string, unknown>
        return options === undefined ? [run] : [run, options]
      }
      return params
    },
    countTasks: countTasks,
    handler: async (params, ctx) => {
      const connection = ctx.connection!
      // refuse before the run starts, not after
      connection.checkSubscriptionLimit()
      // a large workflow is read in slices, with turns of the event loop for other clients between them
      const pause = timeSlicer()
      const { workflow, name } = await readRun(params, ctx, pause, limits)
      const options = params.options ?? {}
      const execution = runExecution(options)
      const run = await services.workflows.submit(workflow, { ...(name !== undefined ? { name } : {}), ...(execution !== undefined ? { execution } : {}) })
      const naming = { self: services.peerId() }
      const sub = connection.subscribe('subscribe_run_workflow', options.format)
      const detach = run.attach(event => {
        const payload = runNotification(run, event, options, naming)
        if (payload !== undefined) sub.notify(payload)
      })
      sub.whenClosed(detach)
      return sub.id
    }
  }
}

/**
 * The run's workflow, read and normalized. What it is read from is garbage by the time the
 * run is planned, where the node's memory peaks: the exact workflow is read from the
 * request's text a task at a time, and the parsed JSON copy in `params` (in Homestar's
 * `[{name, workflow}]` form and the `{run}` form; in the `{name, workflow}` form the request
 * still holds it) and the bytes form's list are let go here. For 10 000 tasks that is
 * ~11 MiB of heap not held then (the bytes form's list: ~2 million numbers).
 */
async function readRun (params: RunParams, ctx: RequestContext, pause: () => Promise<void>, limits: RunWorkflowLimits): Promise<{ workflow: Workflow, name?: string }> {
  if (Array.isArray(params.run)) {
    const bytes = Uint8Array.from(params.run)
    params.run = []
    const { workflow, name } = decodeRunBytes(bytes, limits.maxJsonDepth)
    return { workflow: await normalizeWhole(workflow, pause, limits.maxTasks), ...(name !== undefined ? { name } : {}) }
  }
  params.run.workflow = undefined
  const name = params.run.name
  return { workflow: await exactWorkflow(ctx, pause, limits.maxTasks), ...(name !== undefined ? { name } : {}) }
}

/** Where the tasks are in each JSON form of the params: `[{workflow}]`, `{run: {workflow}}`, `{workflow}`. */
const TASK_PATHS = [[0, 'workflow', 'tasks'], ['run', 'workflow', 'tasks'], ['workflow', 'tasks']]

/** The number of tasks, read from the params' text in one pass without parsing it; undefined for the bytes form. */
function countTasks (params: JsonSpan): number | undefined {
  const [positional, run, named] = params.countAt(TASK_PATHS)
  return positional ?? run ?? named
}

/** A workflow read whole (the bytes form, or a JSON form not taken apart): refused when it has too many tasks, else normalized in slices. */
async function normalizeWhole (workflow: Ipld, pause: () => Promise<void>, maxTasks: number): Promise<Workflow> {
  const tasks = isMap(workflow) ? workflow.tasks : undefined
  if (Array.isArray(tasks)) checkTaskCount(tasks.length, maxTasks)
  return await parseWorkflowSliced(workflow, pause)
}

/** `WORKFLOW_TOO_LARGE` before any CID is computed (the engine checks again). */
function checkTaskCount (tasks: number, maxTasks: number): void {
  if (tasks > maxTasks) {
    throw new WorkflowError(WorkflowErrorCode.TOO_LARGE, `the workflow has ${tasks} tasks, more than workflow.max_tasks (${maxTasks})`, { limit: maxTasks, tasks })
  }
}

/**
 * The workflow exactly as the client wrote it, read again from the request's own text
 * (never the rest of its batch): JSON numbers keep their form (`1.0` stays a float,
 * integers beyond 2^53 stay exact) and `{"/": …}` are links, so its CIDs are Homestar's.
 * Its tasks are read and normalized one at a time (`pause` between them), each from its own
 * part of the text; only `tasks` matters to a workflow, its other keys are dropped as
 * `parseWorkflow` drops them.
 */
async function exactWorkflow (ctx: RequestContext, pause: () => Promise<void>, maxTasks: number): Promise<Workflow> {
  const text = ctx.raw ?? 'null'
  const params = new JsonSpan(text, 0, text.length).member('params')
  const run = params?.kind === 'array' ? params.element(0) : params?.kind === 'object' ? params.member('run') ?? params : undefined
  await pause()
  const workflow = run?.kind === 'object' ? run.member('workflow') : undefined
  const taskSpans = workflow?.kind === 'object' ? workflow.member('tasks')?.elements() : undefined
  if (workflow === undefined || taskSpans === undefined) return await normalizeWhole(whole(text), pause, maxTasks)
  checkTaskCount(taskSpans.length, maxTasks)
  await pause()
  return await parseWorkflowTasks(taskSpans.length, i => parseJson(taskSpans[i].raw), pause)
}

/** The workflow of a request read whole, for the forms `exactWorkflow` does not take apart (it is then not a map of tasks, and is refused). */
function whole (text: string): Ipld {
  const request = parseJson(text)
  const params = isMap(request) ? request.params : undefined
  const run = Array.isArray(params) ? params[0] : isMap(params) ? ('run' in params ? params.run : params) : undefined
  return isMap(run) ? run.workflow ?? null : null
}

/** The bytes form of the params: DAG-CBOR of `{name, workflow}`, nested no deeper than a JSON message may be. */
function decodeRunBytes (bytes: Uint8Array, maxDepth: number): { workflow: Ipld, name?: string } {
  if (cborNestingExceeds(bytes, maxDepth)) {
    throw new RpcError(RpcErrorCode.JSON_TOO_DEEP, `the DAG-CBOR params nest arrays and maps deeper than rpc.max_json_depth (${maxDepth})`, { limit: maxDepth })
  }
  const value = decode(bytes)
  if (!isMap(value) || !('workflow' in value)) {
    throw new IpldError(IpldErrorCode.INVALID_WORKFLOW, 'the DAG-CBOR params must be a map {name, workflow}')
  }
  const name = value.name
  if (name !== undefined && name !== null && typeof name !== 'string') throw new IpldError(IpldErrorCode.INVALID_WORKFLOW, 'name must be a string')
  // code points, as JSON Schema's maxLength counts them (spread only when it can matter)
  if (typeof name === 'string' && name.length > MAX_RUN_NAME_LENGTH && (name.length > 2 * MAX_RUN_NAME_LENGTH || [...name].length > MAX_RUN_NAME_LENGTH)) {
    throw new RpcError(RpcErrorCode.INVALID_PARAMS, `invalid params for subscribe_run_workflow: /run/name must NOT have more than ${MAX_RUN_NAME_LENGTH} characters`, { issues: [{ path: '/run/name', message: `must NOT have more than ${MAX_RUN_NAME_LENGTH} characters` }] })
  }
  return { workflow: value.workflow!, ...(typeof name === 'string' ? { name } : {}) }
}

function isMap (v: unknown): v is Record<string, Ipld> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && (v as { asCID?: unknown }).asCID === undefined
}

/** `unsubscribe_run_workflow [id]`: true when the subscription was open on this connection. */
export function unsubscribeRunWorkflowMethod (): MethodDefinition<{ subscription: string }, boolean> {
  return {
    name: 'unsubscribe_run_workflow',
    subscription: true,
    handler: (params, ctx) => ctx.connection?.unsubscribe('subscribe_run_workflow', params.subscription) ?? false
  }
}
