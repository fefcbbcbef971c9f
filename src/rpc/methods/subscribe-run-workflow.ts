import { decode, IpldError, IpldErrorCode, parseJson, parseWorkflow, type Ipld } from '../../ipld/index.js'
import type { MethodDefinition } from '../router.js'
import type { RpcServices } from '../services.js'
import type { RequestContext } from '../context.js'
import { runExecution, runNotification, type SubscriptionOptions } from '../notifications.js'

interface RunParams { run: { name?: string, workflow: unknown } | number[], options?: SubscriptionOptions }

/**
 * `subscribe_run_workflow`: validates and starts a workflow (or joins its run in progress)
 * and streams a notification per receipt, plus the run's `workflow_status` notifications to a
 * subscriber that asks for them (`status: true`). Takes `[{name, workflow}]` (Homestar's
 * form), `{name, workflow}`, or `[[bytes…]]`: the DAG-CBOR of `{name, workflow}`; the
 * subscription's options go second (`[run, options]`, `{run, options}`) or, in the
 * `{name, workflow}` form, under `options`.
 */
export function subscribeRunWorkflowMethod (services: Pick<RpcServices, 'workflows' | 'peerId'>): MethodDefinition<RunParams, string> {
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
    handler: async (params, ctx) => {
      const connection = ctx.connection!
      // refuse before the run starts, not after
      connection.checkSubscriptionLimit()
      const { workflow, name } = Array.isArray(params.run)
        ? decodeRunBytes(Uint8Array.from(params.run))
        : { workflow: exactWorkflow(ctx), name: params.run.name }
      const options = params.options ?? {}
      const execution = runExecution(options)
      const run = await services.workflows.submit(parseWorkflow(workflow), { ...(name !== undefined ? { name } : {}), ...(execution !== undefined ? { execution } : {}) })
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
 * The workflow exactly as the client wrote it, re-read from the frame's text: JSON numbers
 * keep their form (`1.0` stays a float, integers beyond 2^53 stay exact) and `{"/": …}` are
 * links, so its CIDs are Homestar's.
 */
function exactWorkflow (ctx: RequestContext): Ipld {
  const message = parseJson(ctx.raw ?? 'null')
  const requests = Array.isArray(message) ? message : [message]
  const candidates = requests.filter(r => isMap(r) && r.method === ctx.method) as Array<Record<string, Ipld>>
  // ids beyond 2^53 read as bigint here but were rounded by JSON.parse: fall back to the only candidate
  const id = idText(ctx.id)
  const request = candidates.find(r => idText(r.id) === id) ?? (candidates.length === 1 ? candidates[0] : undefined)
  const params = request?.params
  const run = Array.isArray(params) ? params[0] : isMap(params) ? ('run' in params ? params.run : params) : undefined
  return isMap(run) ? run.workflow ?? null : null
}

/** A request id (or its absence) as text, to compare ids read two ways; undefined for a value no valid id reads as. */
function idText (id: Ipld | undefined): string | undefined {
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' || id === null || id === undefined ? String(id) : undefined
}

/** The bytes form of the params: DAG-CBOR of `{name, workflow}`. */
function decodeRunBytes (bytes: Uint8Array): { workflow: Ipld, name?: string } {
  const value = decode(bytes)
  if (!isMap(value) || !('workflow' in value)) {
    throw new IpldError(IpldErrorCode.INVALID_WORKFLOW, 'the DAG-CBOR params must be a map {name, workflow}')
  }
  const name = value.name
  if (name !== undefined && name !== null && typeof name !== 'string') throw new IpldError(IpldErrorCode.INVALID_WORKFLOW, 'name must be a string')
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
