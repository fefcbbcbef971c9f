import type { CID } from 'multiformats/cid'
import { parseCid, receiptIpld, toDagJson } from '../../ipld/index.js'
import type { ReceiptInfo, RunInfo } from '../../workflow/index.js'

/** The `cid` param: a CID string or a DAG-JSON link `{"/": cid}` (schemas/cid.json). */
export type CidParam = string | { '/': string }

/** Reads a `cid` param; an unparseable one is `IPLD_INVALID_CID` (-32602). */
export function cidParam (value: CidParam): CID {
  return parseCid(typeof value === 'string' ? value : value['/'])
}

/** A run in the shape of schemas/workflow_run.json. */
export function runJson (info: RunInfo): Record<string, unknown> {
  return {
    workflow: { '/': info.cid.toString() },
    name: info.name,
    status: info.status,
    progress: { receipts: info.progress, tasks: info.numTasks },
    ...(info.tasks !== undefined ? { tasks: info.tasks } : {}),
    retries: info.retries,
    restarts: info.restarts,
    created_at: info.createdAt,
    updated_at: info.updatedAt,
    ...(info.wakeAt !== undefined ? { wake_at: info.wakeAt } : {}),
    ...(info.error !== undefined ? { error: { code: info.error.code, message: info.error.message } } : {})
  }
}

/** A receipt in the shape of schemas/receipt_record.json: the receipt as DAG-JSON, links as `{"/": …}`, and who stands behind it. */
export function receiptJson (info: ReceiptInfo): Record<string, unknown> {
  return {
    receipt_cid: { '/': info.cid.toString() },
    ...(info.instruction !== undefined ? { instruction: { '/': info.instruction.toString() } } : {}),
    receipt: JSON.parse(toDagJson(receiptIpld(info.receipt))) as unknown,
    ...(info.provenance !== undefined
      ? { provenance: { computed_here: info.provenance.local, vouched_by: info.provenance.vouchers.map(v => ({ peer: v.peer, via: v.via, signed: v.signed })) } }
      : {})
  }
}
