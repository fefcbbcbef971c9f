import { dagCborCid, makeReceipt, type TestReceipt } from '../../utils/store.js'

/** Every third receipt is shared by all rounds, so later rounds also file existing receipts. */
export function crashReceipt (round: string, i: number): TestReceipt {
  const tag = i % 3 === 0 ? 'crash-shared' : `crash-${round}`
  return makeReceipt(tag, i, i % 5 === 4 ? 'error' : 'ok')
}

export function crashWorkflow (round: string): ReturnType<typeof dagCborCid> {
  return dagCborCid({ tasks: [{ round }] })
}
