import type { CID } from 'multiformats/cid'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/logger.js'
import type { Receipt } from '../ipld/index.js'
import type { Network } from './network.js'

export interface PeerReceiptServiceComponents {
  network: Pick<Network, 'hasPeers' | 'findReceipts' | 'announceReceipt' | 'regossipReceipt'>
  logger: Logger
}

/**
 * The workflow engine's view of the network: ask peers for an instruction's receipt (the
 * DHT, bounded by `network.dht_timeout_ms`; what the trust policy admits lands in the
 * receipt store), and announce a receipt this node computed (signed, by gossip and DHT).
 * With no peer connected neither waits on anything.
 */
export class PeerReceiptService {
  constructor (private readonly c: PeerReceiptServiceComponents) {}

  /** Where peers gave a receipt the trust policy admitted: the store has one for that instruction now. */
  async findMany (instructions: CID[], signal?: AbortSignal): Promise<boolean[]> {
    const { network } = this.c
    if (!network.hasPeers) return instructions.map(() => false)
    return await network.findReceipts(instructions, signal)
  }

  publish ({ instruction, receipt, displaced }: { cid: CID, instruction: CID, receipt: Receipt, displaced?: CID }): void {
    const { network, logger } = this.c
    network.announceReceipt(receipt, instruction, displaced)
      .catch(err => logger.debug({ err: errorMessage(err), instruction: instruction.toString() }, 'announcing a receipt failed'))
  }

  replayed ({ instruction, receipt }: { cid: CID, instruction: CID, receipt: Receipt }): void {
    const { network, logger } = this.c
    if (!network.hasPeers) return
    network.regossipReceipt(receipt, instruction)
      .catch(err => logger.debug({ err: errorMessage(err), instruction: instruction.toString() }, 'gossiping a replayed receipt failed'))
  }
}
