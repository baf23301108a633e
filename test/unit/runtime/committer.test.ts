// The exactly-once committer's sequencing, against a scripted producer that records every call (the
// broker's side of it is what test/chaos/runtime-*.test.ts prove on the real broker): records handed
// off travel in the transaction the next commit completes, before its offsets; a discarded hand-off is
// aborted and the next transaction waits for that; a failed send fails the commit; and the offsets go
// out under the generation the caller names, not the client's current one.
import {
  type Consumer,
  kGetApi,
  kGetConnection,
  kMetadata,
  kPerformWithRetry,
  type Producer,
} from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import {
  type DeferredRecords,
  type OutgoingRecord,
  TransactionalCommitter,
} from '../../../topology/runtime/committer.js'

interface Call {
  readonly tx: number
  readonly op: string
  readonly detail?: unknown
}

function scripted(options: { failSend?: number } = {}) {
  const calls: Call[] = []
  let transactions = 0
  let sends = 0
  let current = 0
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
        async commit() {
          transaction.completed = true
          calls.push({ tx, op: 'commit' })
        },
        async abort() {
          transaction.completed = true
          calls.push({ tx, op: 'abort' })
        },
      }
      current = tx
      return transaction
    },
    producerId: 42n,
    producerEpoch: 3,
    // The client's building blocks the committer sends all offsets of a commit with, in one request.
    [kPerformWithRetry]: (
      _op: string,
      run: (retry: (e: Error | null) => void) => void,
      done: (e: Error | null) => void,
    ) => run(done),
    [kMetadata]: (_options: unknown, cb: (e: Error | null, m: unknown) => void) =>
      cb(null, { brokers: new Map([[1, { host: 'coordinator' }]]), topics: new Map() }),
    [kGetConnection]: (broker: unknown, cb: (e: Error | null, c: unknown) => void) => cb(null, broker),
    [kGetApi]: (name: string, cb: (e: Error | null, api: unknown) => void) =>
      cb(null, (...args: unknown[]) => {
        const [connection, , group, producerId, epoch, generationId, member, , topics] = args
        calls.push({
          tx: current,
          op: name,
          detail: { connection, group, producerId, epoch, generationId, member, topics },
        })
        ;(args.at(-1) as (e: Error | null) => void)(null)
      }),
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
      [1, 'TxnOffsetCommit'],
      [1, 'commit'],
    ])
    expect(calls.filter((c) => c.op === 'send').map((c) => c.detail)).toEqual([['a', 'b'], ['c'], ['d']])
  })

  it('commits every offset in one request, under the generation it is given, not the client current one', async () => {
    const { calls, committer } = scripted()
    const many = [
      { topic: 'in', partition: 0, offset: 10 },
      { topic: 'in', partition: 3, offset: 7 },
      { topic: 'app-repartition', partition: 1, offset: 99 },
    ]
    await committer.commit([], many, 7)
    const requests = calls.filter((c) => c.op === 'TxnOffsetCommit')
    expect(requests).toHaveLength(1)
    expect(requests[0]?.detail).toEqual({
      connection: { host: 'coordinator' },
      group: 'g',
      producerId: 42n,
      epoch: 3,
      generationId: 7,
      member: 'm',
      topics: [
        {
          name: 'in',
          partitions: [
            { partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: -1 },
            { partitionIndex: 3, committedOffset: 7n, committedLeaderEpoch: -1 },
          ],
        },
        {
          name: 'app-repartition',
          partitions: [{ partitionIndex: 1, committedOffset: 99n, committedLeaderEpoch: -1 }],
        },
      ],
    })
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
      [2, 'TxnOffsetCommit'],
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
      [2, 'TxnOffsetCommit'],
      [2, 'commit'],
    ])
  })

  it('makes deferred records only when their turn to be sent comes, and sends them in order', async () => {
    const { calls, committer } = scripted()
    const made: string[] = []
    const deferred = (...values: string[]): DeferredRecords => ({
      count: values.length,
      make: () => {
        made.push(values.join(''))
        return records(...values)
      },
    })
    committer.handoff(deferred('a', 'b'))
    committer.handoff(deferred('c'))
    // The chain has not reached them yet: both batches are still unmade.
    expect(made).toEqual([])
    await settle()
    expect(made).toEqual(['ab', 'c'])
    const flush = deferred('d')
    const commit = committer.commit(flush, offsets, 7)
    expect(made).toEqual(['ab', 'c'])
    await commit
    expect(made).toEqual(['ab', 'c', 'd'])
    expect(calls.filter((c) => c.op === 'send').map((c) => c.detail)).toEqual([['a', 'b'], ['c'], ['d']])
    expect(calls.at(-1)?.op).toBe('commit')
  })

  it('fails the commit with the error of a batch that cannot be made, aborting its transaction', async () => {
    const { calls, committer } = scripted()
    committer.handoff({
      count: 3,
      make: () => {
        throw new RangeError('packed records end early')
      },
    })
    committer.handoff(records('after'))
    await expect(committer.commit(records('c'), offsets, 7)).rejects.toThrow('packed records end early')
    expect(calls.map((c) => c.op)).toEqual(['begin', 'abort'])
    // An empty deferred batch neither begins a transaction nor is made.
    await committer.commit({ count: 0, make: () => expect.fail('made') }, [], 7)
    expect(calls.map((c) => c.op)).toEqual(['begin', 'abort'])
  })

  it('does nothing when there is nothing to commit', async () => {
    const { calls, committer } = scripted()
    await committer.commit([], [], 7)
    expect(calls).toEqual([])
  })
})
