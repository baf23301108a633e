// The exactly-once committer on its worker thread, against the broker: hand-offs, discards, records and
// offsets reach read_committed readers exactly as the processing-thread committer sends them, and a
// fenced producer's error comes back classified as the runtime classifies it on its own thread.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin, createTransactionalProducer } from '../../kafka/clients.js'
import { Serdes, StreamsBuilder } from '../../topology/index.js'
import { classifyCommitError } from '../../topology/runtime/commit-errors.js'
import {
  type Committer,
  type OutgoingRecord,
  TransactionalCommitter,
} from '../../topology/runtime/committer.js'
import { KafkaStreams } from '../../topology/runtime/index.js'
import {
  kProducerWorker,
  ThreadedTransactionalCommitter,
  type ToWorker,
} from '../../topology/runtime/producer-thread.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const outTopic = `${prefix}-out`
const sourceTopic = `${prefix}-source`
const fencedTopic = `${prefix}-fenced`
const crashTopic = `${prefix}-crash`
const badBatchTopic = `${prefix}-bad-batch`
let coordinatorId = 0

beforeAll(async () => {
  await createTestTopics(config, [outTopic, sourceTopic, fencedTopic, crashTopic, badBatchTopic], 3)
  const admin = createAdmin(config.kafka, 'test')
  try {
    // One broker: it coordinates every group.
    const metadata = await admin.metadata({ topics: [outTopic] })
    coordinatorId = [...metadata.brokers.keys()][0] as number
  } finally {
    await admin.close()
  }
})
afterAll(() => deleteTestTopics(config, [outTopic, sourceTopic, fencedTopic, crashTopic, badBatchTopic]))

function threaded(transactionalId: string, groupId: string): ThreadedTransactionalCommitter {
  return new ThreadedTransactionalCommitter(
    { kafka: config.kafka, transactionalId, clientId: `${prefix}-client`, timeout: 10_000 },
    // No group member: TxnOffsetCommit with generation -1 and no member id (a standalone group).
    () => ({ groupId, memberId: '', coordinatorId }),
  )
}

function record(topic: string, name: string, partition?: number): OutgoingRecord {
  const out: OutgoingRecord = {
    topic,
    key: Buffer.from(`key-${name}`),
    value: Buffer.from(`value-${name}`),
    timestamp: 1_700_000_000_000n + BigInt(name.charCodeAt(0)),
    headers: new Map([[Buffer.from('h'), Buffer.from(`header-${name}`)]]),
  }
  if (partition !== undefined) out.partition = partition
  return out
}

describe('ThreadedTransactionalCommitter', () => {
  it('commits hand-offs, records and offsets together, and aborts a discarded hand-off', async () => {
    const groupId = `${prefix}-group`
    const committer = threaded(`${prefix}-txn`, groupId)
    try {
      await committer.initialize()
      expect(committer.identity.producerEpoch).toBeGreaterThanOrEqual(0)
      committer.handoff([record(outTopic, 'a', 0), record(outTopic, 'b', 1)])
      await committer.commit(
        [record(outTopic, 'c', 2)],
        [{ topic: sourceTopic, partition: 0, offset: 42 }],
        -1,
      )
      committer.handoff([record(outTopic, 'x', 0)])
      committer.discard()
      await committer.commit([record(outTopic, 'd')], [{ topic: sourceTopic, partition: 1, offset: 7 }], -1)
    } finally {
      await committer.close()
    }
    await expect(committer.commit([], [], -1)).rejects.toThrow(/producer thread/)

    const read = await readTopicRaw(config, outTopic, { expected: 4, isolation: 'read_committed' })
    const seen = read.map((r) => ({
      key: r.key?.toString(),
      value: r.value?.toString(),
      header: [...r.headers.values()][0]?.toString(),
      timestamp: r.timestamp,
      partition: r.partition,
    }))
    const expected = (name: string, partition?: number) => ({
      key: `key-${name}`,
      value: `value-${name}`,
      header: `header-${name}`,
      timestamp: 1_700_000_000_000n + BigInt(name.charCodeAt(0)),
      ...(partition === undefined ? {} : { partition }),
    })
    expect(seen.sort((p, q) => (p.key ?? '').localeCompare(q.key ?? ''))).toEqual([
      expected('a', 0),
      expected('b', 1),
      expected('c', 2),
      { ...expected('d'), partition: expect.any(Number) },
    ])
    // The discarded hand-off was sent, then aborted with its transaction.
    const all = await readTopicRaw(config, outTopic, { expected: 5, isolation: 'read_uncommitted' })
    expect(all.map((r) => r.key?.toString()).sort()).toEqual(['key-a', 'key-b', 'key-c', 'key-d', 'key-x'])

    const admin = createAdmin(config.kafka, 'test')
    try {
      const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
      const offsets = group?.topics
        .find((t) => t.name === sourceTopic)
        ?.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)])
      expect(offsets?.sort()).toEqual([
        [0, 42],
        [1, 7],
      ])
    } finally {
      await admin.close()
    }
  })

  it('fails a fenced commit as the processing-thread committer does, and none of its records is seen', async () => {
    const outcome = async (make: (id: string) => Committer, id: string): Promise<string> => {
      const first = make(id)
      const second = make(id)
      try {
        await first.initialize()
        await first.commit([record(fencedTopic, `${id}-before`)], [], -1)
        // The same transactional id registers again: the first producer's epoch is stale from now on.
        await second.initialize()
        first.handoff([record(fencedTopic, `${id}-handed`)])
        const error = await first.commit([record(fencedTopic, `${id}-committed`)], [], -1).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(Error)
        return classifyCommitError(error)
      } finally {
        await first.close().catch(() => {})
        await second.close()
      }
    }
    const onThread = await outcome((id) => threaded(id, `${prefix}-fenced-group`), `${prefix}-fenced-thread`)
    const inProcess = await outcome(
      (id) =>
        new TransactionalCommitter(
          createTransactionalProducer<Buffer, Buffer, Buffer, Buffer>(config.kafka, id, { timeout: 10_000 }),
          { groupId: `${prefix}-fenced-group`, memberId: '', coordinatorId },
        ),
      `${prefix}-fenced-main`,
    )
    expect(onThread).not.toBe('COMMIT_FAILED')
    expect(onThread).toBe(inProcess)
    const read = await readTopicRaw(config, fencedTopic, { expected: 2, isolation: 'read_committed' })
    expect(read.map((r) => r.key?.toString()).sort()).toEqual([
      `key-${prefix}-fenced-main-before`,
      `key-${prefix}-fenced-thread-before`,
    ])
  })

  it('fails every commit once its thread is gone, and a new one under the same id aborts what it left open', async () => {
    const id = `${prefix}-crash-txn`
    const committer = threaded(id, `${prefix}-crash-group`)
    await committer.initialize()
    await committer.commit([record(crashTopic, 'a')], [], -1)
    committer.handoff([record(crashTopic, 'b')])
    // As a crash of the thread would: the transaction holding 'b' stays open on the broker.
    await committer[kProducerWorker].terminate()
    await expect(committer.commit([record(crashTopic, 'c')], [], -1)).rejects.toThrow(
      /the producer thread exited/,
    )
    committer.handoff([record(crashTopic, 'd')])
    committer.discard()
    await committer.close()

    const next = threaded(id, `${prefix}-crash-group`)
    try {
      await next.initialize()
      await next.commit([record(crashTopic, 'e')], [], -1)
    } finally {
      await next.close()
    }
    const read = await readTopicRaw(config, crashTopic, { expected: 2, isolation: 'read_committed' })
    expect(read.map((r) => r.key?.toString()).sort()).toEqual(['key-a', 'key-e'])
  })

  it('fails the commit of a batch the thread cannot unpack, with its error, and goes on', async () => {
    const committer = threaded(`${prefix}-bad-batch-txn`, `${prefix}-bad-batch-group`)
    try {
      await committer.initialize()
      committer.handoff([record(badBatchTopic, 'a')])
      // Two records announced, five bytes sent: reading the second record runs past the end.
      const broken: ToWorker = {
        op: 'handoff',
        records: { topics: [badBatchTopic], buffer: new ArrayBuffer(5), count: 2 },
      }
      committer[kProducerWorker].postMessage(broken)
      await expect(committer.commit([record(badBatchTopic, 'b')], [], -1)).rejects.toThrow(
        /out of range|outside buffer bounds/i,
      )
      // The thread lives on: the next transaction commits.
      await committer.commit([record(badBatchTopic, 'c')], [], -1)
    } finally {
      await committer.close()
    }
    const read = await readTopicRaw(config, badBatchTopic, { expected: 1, isolation: 'read_committed' })
    expect(read.map((r) => r.key?.toString())).toEqual(['key-c'])
  })

  it('refuses connection settings the thread cannot take at start, naming the setting and the way out', async () => {
    const builder = new StreamsBuilder()
    builder.stream(sourceTopic, { keySerde: Serdes.Buffer(), valueSerde: Serdes.Buffer() }).to(outTopic)
    const streams = new KafkaStreams(builder.build(), {
      applicationId: `${prefix}-uncloneable`,
      bootstrapServers: config.kafka.bootstrapServers,
      stateDir: mkdtempSync(join(tmpdir(), 'producer-thread-')),
      // A function where a password belongs: the thread gets a copy of the settings, and it has none.
      connection: { sasl: { mechanism: 'PLAIN', username: 'user', password: (() => 'secret') as never } },
    })
    const error = await streams.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', subject: 'connection' })
    expect(String((error as Error).message)).toMatch(/producerThread: false/)
    expect(streams.state).toBe('ERROR')
  })
})
