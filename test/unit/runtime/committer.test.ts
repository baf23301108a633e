// The exactly-once committer's sequencing, against a scripted producer that records every call (the
// broker's side of it is what test/chaos/runtime-*.test.ts prove on the real broker): records handed
// off travel in the transaction the next commit completes, before its offsets; a discarded hand-off is
// aborted and the next transaction waits for that; a failed send fails the commit; and the offsets go
// out under the generation the caller names, not the client's current one.
import type { Consumer, Producer } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { type OutgoingRecord, TransactionalCommitter } from '../../../topology/runtime/committer.js'

interface Call {
  readonly tx: number
  readonly op: string
  readonly detail?: unknown
}

function scripted(options: { failSend?: number } = {}) {
  const calls: Call[] = []
  let transactions = 0
  let sends = 0
  const producer = {
    async beginTransaction() {
      const tx = ++transactions
      calls.push({ tx, op: 'begin' })
      const transaction = {
        completed: false,
        async send({ messages }: { messages: OutgoingRecord[] }) {
          await Promise.resolve()
          if (++sends === options.failSend) throw new Error('send failed')
          calls.push({ tx, op: 'send', detail: messages.map((m) => m.value?.toString()) })
        },
        async addConsumer() {
          calls.push({ tx, op: 'addConsumer' })
        },
        async addOffset(message: { metadata: { consumer: { generationId: number } } }) {
          calls.push({ tx, op: 'addOffset', detail: message.metadata.consumer.generationId })
        },
        async commit() {
          transaction.completed = true
          calls.push({ tx, op: 'commit' })
        },
        async abort() {
          transaction.completed = true
          calls.push({ tx, op: 'abort' })
        },
      }
      return transaction
    },
  } as unknown as Producer<Buffer, Buffer, Buffer, Buffer>
  const consumer = { groupId: 'g', generationId: 8, memberId: 'm', coordinatorId: 1 } as unknown as Consumer
  return { calls, committer: new TransactionalCommitter(producer, consumer) }
}

const records = (...values: string[]): OutgoingRecord[] =>
  values.map((v) => ({ topic: 'out', value: Buffer.from(v) }))
const offsets = [{ topic: 'in', partition: 0, offset: 10 }]
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('TransactionalCommitter', () => {
  it('sends handed-off records at once, in order, in the transaction the commit completes', async () => {
    const { calls, committer } = scripted()
    committer.handoff(records('a', 'b'))
    committer.handoff(records('c'))
    await settle()
    // Sent before any commit was asked for.
    expect(calls.filter((c) => c.op === 'send').map((c) => c.detail)).toEqual([['a', 'b'], ['c']])
    await committer.commit(records('d'), offsets, 7)
    expect(calls.map((c) => [c.tx, c.op])).toEqual([
      [1, 'begin'],
      [1, 'send'],
      [1, 'send'],
      [1, 'send'],
      [1, 'addConsumer'],
      [1, 'addOffset'],
      [1, 'commit'],
    ])
    expect(calls.filter((c) => c.op === 'send').map((c) => c.detail)).toEqual([['a', 'b'], ['c'], ['d']])
  })

  it('commits the offsets under the generation it is given, not the client current one', async () => {
    const { calls, committer } = scripted()
    await committer.commit([], offsets, 7)
    expect(calls.find((c) => c.op === 'addOffset')?.detail).toBe(7)
  })

  it('aborts a discarded hand-off, and begins the next transaction only after that abort', async () => {
    const { calls, committer } = scripted()
    committer.handoff(records('lost'))
    committer.discard()
    committer.handoff(records('kept'))
    await committer.commit([], offsets, 7)
    expect(calls.map((c) => [c.tx, c.op])).toEqual([
      [1, 'begin'],
      [1, 'send'],
      [1, 'abort'],
      [2, 'begin'],
      [2, 'send'],
      [2, 'addConsumer'],
      [2, 'addOffset'],
      [2, 'commit'],
    ])
    expect(calls.filter((c) => c.tx === 2 && c.op === 'send').map((c) => c.detail)).toEqual([['kept']])
  })

  it('fails the commit when a handed-off send failed, aborting its transaction, and starts clean after', async () => {
    const { calls, committer } = scripted({ failSend: 1 })
    committer.handoff(records('a'))
    committer.handoff(records('b'))
    await expect(committer.commit(records('c'), offsets, 7)).rejects.toThrow('send failed')
    // The failed chain sent nothing after its failure, and nothing was committed.
    expect(calls.map((c) => c.op)).toEqual(['begin', 'abort'])
    await committer.commit(records('d'), offsets, 7)
    expect(calls.slice(2).map((c) => [c.tx, c.op])).toEqual([
      [2, 'begin'],
      [2, 'send'],
      [2, 'addConsumer'],
      [2, 'addOffset'],
      [2, 'commit'],
    ])
  })

  it('does nothing when there is nothing to commit', async () => {
    const { calls, committer } = scripted()
    await committer.commit([], [], 7)
    expect(calls).toEqual([])
  })
})
