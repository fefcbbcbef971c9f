import type { Libp2p, Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { ExchangeSession } from '../../../src/network/exchange-session.js'
import { lengthPrefixed, readLengthPrefixed } from '../../../src/network/wire/framing.js'
import { barePeer, stopRawPeers } from '../../utils/raw-peer.js'

const PROTOCOL = '/ipvm-test/session/1.0.0'
const text = new TextEncoder()
const read = new TextDecoder()

/**
 * Two peers on loopback; the second answers each request with `answer:<request>` on the stream
 * it came on. `streams` counts the streams it was asked on; `mode` makes it close each stream
 * after its first answer (as a peer answering one request per stream does), or never answer.
 */
async function pair (mode: 'keep' | 'one-per-stream' | 'silent' = 'keep'): Promise<{ asking: Libp2p, answering: Libp2p, streams: Stream[] }> {
  const [asking, answering] = await Promise.all([barePeer(), barePeer()])
  const streams: Stream[] = []
  await answering.handle(PROTOCOL, (stream) => {
    streams.push(stream)
    void (async () => {
      for await (const request of readLengthPrefixed(stream, 1024)) {
        if (mode === 'silent') continue
        stream.send(lengthPrefixed(text.encode(`answer:${read.decode(request)}`)))
        if (mode === 'one-per-stream') break
      }
      await stream.close()
    })().catch(err => { stream.abort(err as Error) })
  })
  await asking.dial(answering.getMultiaddrs())
  return { asking, answering, streams }
}

const ask = async (session: ExchangeSession, request: string, signal = AbortSignal.timeout(10_000)): Promise<string> =>
  read.decode(await session.ask(text.encode(request), signal))

afterEach(async () => {
  await stopRawPeers()
})

describe('network: an exchange session (requests to one peer over one long-lived stream)', () => {
  it.each([
    { mode: 'keep' as const, streams: 1, what: 'sends requests in turn on one stream and reads each answer' },
    { mode: 'one-per-stream' as const, streams: 3, what: 'opens another stream when the peer closed the last one after answering' }
  ])('$what', async ({ mode, streams: expected }) => {
    const { asking, answering, streams } = await pair(mode)
    const session = new ExchangeSession(asking, answering.peerId, PROTOCOL, 1024)
    for (const request of ['a', 'b', 'c']) expect(await ask(session, request)).toBe(`answer:${request}`)
    expect(streams).toHaveLength(expected)
    session.close()
    await expect(ask(session, 'd')).rejects.toThrow(/closed/)
  })

  it('takes one request at a time, and a request aborted while waiting leaves the session usable', async () => {
    const silent = await pair('silent')
    const session = new ExchangeSession(silent.asking, silent.answering.peerId, PROTOCOL, 1024)
    const controller = new AbortController()
    const waiting = ask(session, 'never answered', controller.signal)
    await expect(ask(session, 'second')).rejects.toThrow(/waiting for an answer/)
    expect(session.busy).toBe(true)
    while (silent.streams.length === 0) await new Promise(resolve => setTimeout(resolve, 10))
    controller.abort()
    await expect(waiting).rejects.toThrow(/aborted/)
    expect(session.busy).toBe(false)
    // the aborted stream is dropped, and the next request opens one of its own
    const again = new AbortController()
    const asked = ask(session, 'again', again.signal)
    while (silent.streams.length < 2) await new Promise(resolve => setTimeout(resolve, 10))
    again.abort()
    await expect(asked).rejects.toThrow(/aborted/)
    expect(silent.streams).toHaveLength(2)
    session.close()
  })

  it('refuses an answer larger than its limit', async () => {
    const { asking, answering } = await pair()
    const session = new ExchangeSession(asking, answering.peerId, PROTOCOL, 8)
    await expect(ask(session, 'a request whose answer is too long')).rejects.toThrow(/exceeds 8/)
    session.close()
  })
})
