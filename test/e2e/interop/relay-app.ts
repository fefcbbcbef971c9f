// The page of the browser interop test, bundled for the browser with esbuild at test time: a
// small web app in the manner of Homestar's websocket-relay example. It connects the official
// client to the node named in its query (?rpc=ws://…&rsc=ipfs://…&name=…&start=N), builds a
// workflow with the client's builders, runs it, and lists each receipt the client hands over.
import { Homestar } from '@fission-codes/homestar'
import { addOne, appendString, joinStrings, workflow } from '@fission-codes/homestar/workflow'
import { WebsocketTransport } from '@fission-codes/channel/transports/ws.js'

const query = new URLSearchParams(location.search)
const list = document.getElementById('receipts')!
const problems = document.getElementById('problems')!
const status = document.getElementById('status')!

function problem (what: string, detail: unknown): void {
  const li = document.createElement('li')
  li.textContent = `${what}: ${detail instanceof Error ? detail.message : String(detail)}`
  problems.append(li)
}

window.addEventListener('error', e => problem('error', e.message))
window.addEventListener('unhandledrejection', e => problem('unhandled rejection', e.reason))

const hs = new Homestar({ transport: new WebsocketTransport(query.get('rpc')!) })
hs.on('error', err => problem('client', err))
// the test asks the client for a round trip through the page
;(window as unknown as { homestar: Homestar }).homestar = hs

const rsc = query.get('rsc') as `ipfs://${string}`
const start = Number(query.get('start'))
type Template = Parameters<typeof workflow>[0]
const built = await workflow({
  name: query.get('name') ?? 'relay',
  workflow: {
    tasks: [
      addOne({ name: 'one', resource: rsc, args: { a: start } }),
      addOne({ name: 'two', resource: rsc, args: { a: '{{needs.one.output}}' } }),
      appendString({ name: 'greeting', resource: rsc, args: { a: 'relay' } }),
      joinStrings({ name: 'joined', resource: rsc, args: { a: '{{needs.greeting.output}}', b: '!' } }),
      // a wrong argument type: an error receipt, and the task awaiting it skipped
      addOne({ name: 'wrong', resource: rsc, args: { a: 'x' as never } }),
      addOne({ name: 'after-wrong', resource: rsc, args: { a: '{{needs.wrong.output}}' } })
    ]
  }
} as Template)

const answer = await hs.runWorkflow(built, n => {
  const li = document.createElement('li')
  li.dataset.receiptCid = n.receipt_cid.toString()
  li.dataset.ran = n.receipt.ran.toString()
  li.dataset.workflow = n.metadata.workflow.toString()
  li.dataset.replayed = String(n.metadata.replayed)
  li.dataset.outcome = n.receipt.out[0]
  li.textContent = JSON.stringify(n.receipt.out[1])
  list.append(li)
})
if (answer.error !== undefined) problem('runWorkflow', answer.error)
status.textContent = answer.error === undefined ? 'running' : 'refused'
