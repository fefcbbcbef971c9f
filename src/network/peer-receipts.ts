import type { CID } from 'multiformats/cid'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { Receipt } from '../ipld/index.js'
import { receiptWireForms } from './homestar-receipts.js'
import type { Network } from './network.js'

export interface PeerReceiptServiceComponents {
  network: Pick<Network, 'hasPeers' | 'findReceipt' | 'publishReceipt'>
  logger: Logger
}

/**
 * The workflow engine's view of the network: a receipt for an instruction from peers (the
 * DHT, bounded by `network.dht_timeout_ms`), and the announcement of a receipt this node
 * computed (gossip and DHT). With no peer connected neither waits on anything.
 */
export class PeerReceiptService {
  constructor (private readonly c: PeerReceiptServiceComponents) {}

  async find (instruction: CID, signal?: AbortSignal): Promise<{ cid: CID, receipt: Receipt } | null> {
    const { network } = this.c
    if (!network.hasPeers) return null
    const found = await network.findReceipt(instruction, signal !== undefined ? { signal } : {})
    return found === null ? null : { cid: found.cid, receipt: found.record as Receipt }
  }

  publish ({ instruction, receipt }: { cid: CID, instruction: CID, receipt: Receipt }): void {
    const { network, logger } = this.c
    if (!network.hasPeers) return
    const { cid, gossipBytes, dhtBytes } = receiptWireForms(receipt, instruction)
    network.publishReceipt({ cid, ran: receipt.ran, instruction, gossipBytes, dhtBytes })
      .catch(err => logger.debug({ err: errorMessage(err), receipt: cid.toString() }, 'publishing a receipt failed'))
  }
}
