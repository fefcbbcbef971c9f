import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { checkAnswer, expectedReceipt, parseVerify, replicasAgree, settleAgainst } from '../../../src/compute/index.js'
import { parseJson, parseWorkflow, receiptCid, type Receipt } from '../../../src/ipld/index.js'
import { inputsDigest, signDispatchedReceipt, signReceipt, verifyDispatchedReceipt } from '../../../src/network/index.js'

const [task, other] = parseWorkflow(parseJson(JSON.stringify({
  tasks: [1, 2].map(n => ({ cause: null, meta: {}, prf: [], run: { input: { args: [n], func: 'add_one' }, nnc: '', op: 'wasm/run', rsc: 'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' } }))
}))).tasks
const awaited = [{ instruction: other.run.cid, ok: true, value: 41 }]
const sent = { ran: task.ran, instruction: task.run.cid, func: 'add_one', inputs: inputsDigest(awaited) }

async function answer (receipt: Receipt, sign?: (cid: ReturnType<typeof receiptCid>) => Promise<{ iss: string, sig: Uint8Array }>): Promise<{ receipt: Receipt, signature: { iss: string, sig: Uint8Array } }> {
  const key = await generateKeyPair('Ed25519')
  const cid = receiptCid(receipt)
  return { receipt, signature: sign !== undefined ? await sign(cid) : await signDispatchedReceipt(key, cid, task.run.cid, sent.inputs) }
}

describe('checking a peer\'s answer to a task', () => {
  it('takes the receipt this node would write, signed by the peer it came from over it, the instruction and the inputs sent', async () => {
    const key = await generateKeyPair('Ed25519')
    const from = peerIdFromPrivateKey(key).toString()
    const receipt = expectedReceipt(sent, 2)
    const signature = await signDispatchedReceipt(key, receiptCid(receipt), task.run.cid, sent.inputs)
    expect(await checkAnswer({ receipt, signature }, sent, from, verifyDispatchedReceipt)).toEqual({ ok: true, output: 2, cid: receiptCid(receipt) })
  })

  it('refuses a signature by anyone but the peer it came from, over other inputs, or of another kind', async () => {
    const key = await generateKeyPair('Ed25519')
    const from = peerIdFromPrivateKey(key).toString()
    const receipt = expectedReceipt(sent, 2)
    const cid = receiptCid(receipt)
    // another peer's signature
    expect(await checkAnswer(await answer(receipt), sent, from, verifyDispatchedReceipt)).toEqual({ ok: false, reason: 'bad_signature' })
    // the right peer, but over inputs the requester did not send
    const otherInputs = await signDispatchedReceipt(key, cid, task.run.cid, inputsDigest([{ ...awaited[0], value: 40 }]))
    expect(await checkAnswer({ receipt, signature: otherInputs }, sent, from, verifyDispatchedReceipt)).toEqual({ ok: false, reason: 'bad_signature' })
    // a receipt attestation (what gossip carries) is not a dispatch attestation
    expect(await checkAnswer({ receipt, signature: await signReceipt(key, cid, task.run.cid) }, sent, from, verifyDispatchedReceipt)).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses a receipt that does not bind to the task sent, or is not a success', async () => {
    const key = await generateKeyPair('Ed25519')
    const from = peerIdFromPrivateKey(key).toString()
    const signed = async (r: Receipt): Promise<ReturnType<typeof answer>> => await answer(r, async cid => await signDispatchedReceipt(key, cid, task.run.cid, sent.inputs))
    const good = expectedReceipt(sent, 2)
    for (const wrong of [{ ...good, ran: other.ran }, { ...good, meta: { op: 'add_two' } }, { ...good, iss: from }, { ...good, prf: [task.ran] }]) {
      expect(await checkAnswer(await signed(wrong), sent, from, verifyDispatchedReceipt)).toEqual({ ok: false, reason: 'ran_mismatch' })
    }
    expect(await checkAnswer(await signed({ ...good, out: ['error', { code: 'X', message: 'no', attempts: 1 }] }), sent, from, verifyDispatchedReceipt)).toEqual({ ok: false, reason: 'not_ok' })
  })
})

describe('compute.verify', () => {
  it('reads none, sample:<fraction> and replicate:<k>, and refuses anything else', () => {
    expect(parseVerify('none')).toEqual({ kind: 'none' })
    expect(parseVerify('sample:0.25')).toEqual({ kind: 'sample', fraction: 0.25 })
    expect(parseVerify('sample:1')).toEqual({ kind: 'sample', fraction: 1 })
    expect(parseVerify('replicate:3')).toEqual({ kind: 'replicate', k: 3 })
    for (const bad of ['', 'sample', 'sample:', 'sample:1.5', 'sample:-1', 'sample:x', 'replicate:0', 'replicate:2.5', 'replicate:17', 'replicate:2:3', 'all']) {
      expect(() => parseVerify(bad), bad).toThrow(expect.objectContaining({ code: 'COMPUTE_INVALID_OPTION' }))
    }
  })

  it('replicas settle a task when k of them agree; otherwise this node\'s value decides who is in conflict', () => {
    expect(replicasAgree([{ peer: 'B', output: 2 }, { peer: 'C', output: 2 }], 2)).toBe(true)
    expect(replicasAgree([{ peer: 'B', output: 2 }, { output: 2 }], 2)).toBe(true)
    expect(replicasAgree([{ peer: 'B', output: 2 }], 2)).toBe(false)
    expect(replicasAgree([{ peer: 'B', output: 2 }, { peer: 'C', output: 1002 }], 2)).toBe(false)
    // 2 and 2.0 are different values (DAG-CBOR integer and float)
    expect(replicasAgree([{ peer: 'B', output: { a: [1, 'x'] } }, { peer: 'C', output: { a: [1, 'x'] } }], 2)).toBe(true)
    expect(settleAgainst(2, [{ peer: 'B', output: 1002 }, { peer: 'C', output: 2 }, { output: 2 }])).toEqual({ agree: ['C'], disagree: [{ peer: 'B', output: 1002 }] })
  })
})
