// Exactly-once starts here: transactional writes seen by read_committed readers only once
// committed, and a transactional id that survives a SIGKILL of its producer mid-transaction.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { stringSerializers } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin, createConsumer, createTransactionalProducer } from '../../kafka/clients.js'
import { PartitionFetcher, partitionKey, stableEnds } from '../../kafka/partition-fetcher.js'
import { createTestTopics, deleteTestTopics, readTopic } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const committedTopic = `${prefix}-seed`
const crashTopic = `${prefix}-crash`
const markerTopic = `${prefix}-marker`
const openTopic = `${prefix}-open`

beforeAll(() => createTestTopics(config, [committedTopic, crashTopic, markerTopic, openTopic], 3))
afterAll(() => deleteTestTopics(config, [committedTopic, crashTopic, markerTopic, openTopic]))

describe('transactional produce', () => {
  it('shows read_committed readers the committed transaction only, and read_uncommitted both', async () => {
    const producer = createTransactionalProducer(config.kafka, `${prefix}-seed`, {
      serializers: stringSerializers,
    })
    try {
      const committed = await producer.beginTransaction()
      await committed.send({
        messages: ['a', 'b', 'c'].map((k) => ({ topic: committedTopic, key: k, value: `committed-${k}` })),
      })
      await committed.commit()
      const aborted = await producer.beginTransaction()
      await aborted.send({
        messages: ['d', 'e'].map((k) => ({ topic: committedTopic, key: k, value: `aborted-${k}` })),
      })
      await aborted.abort()
    } finally {
      await producer.close()
    }

    const readCommitted = await readTopic(config, committedTopic, {
      expected: 3,
      isolation: 'read_committed',
    })
    expect(readCommitted.map((r) => r.value).sort()).toEqual(['committed-a', 'committed-b', 'committed-c'])
    const readAll = await readTopic(config, committedTopic, { expected: 5, isolation: 'read_uncommitted' })
    expect(readAll.map((r) => r.value).sort()).toEqual([
      'aborted-d',
      'aborted-e',
      'committed-a',
      'committed-b',
      'committed-c',
    ])
  })

  it('lets a producer restarted under the same transactional id work after a SIGKILL mid-transaction', async () => {
    const transactionalId = `${prefix}-crash`
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('../support/fixtures/open-transaction.ts', import.meta.url)),
        transactionalId,
        crashTopic,
        '20',
      ],
      { env: { ...process.env, ...stackEnv() }, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.setEncoding('utf8')
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk
        if (out.includes('SENT')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)))
    })
    child.kill('SIGKILL')
    await once(child, 'exit')

    // The dead producer's records are in the log (so the check below is not vacuous) ...
    const written = await readTopic(config, crashTopic, {
      expected: 20,
      isolation: 'read_uncommitted',
      quietMs: 300,
    })
    expect(written.filter((r) => r.value.startsWith('doomed-'))).toHaveLength(20)

    // ... and the same transactional id starts again at once: its open transaction is aborted.
    const producer = createTransactionalProducer(config.kafka, transactionalId, {
      serializers: stringSerializers,
    })
    try {
      const transaction = await producer.beginTransaction()
      await transaction.send({
        messages: Array.from({ length: 5 }, (_, i) => ({
          topic: crashTopic,
          key: `k${i}`,
          value: `survivor-${i}`,
        })),
      })
      await transaction.commit()
    } finally {
      await producer.close()
    }

    const visible = await readTopic(config, crashTopic, { expected: 5, isolation: 'read_committed' })
    expect(visible.map((r) => r.value).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `survivor-${i}`))
  })
})

describe('read_committed fetch (the runtime and its restore read this way)', () => {
  // An abort marker can stand alone: a producer that added a partition to its transaction and died
  // (or aborted) before its records reached it. The client's own filter ended the last aborted range
  // it was told of at such a marker, and so dropped every committed transaction in between: a restore
  // lost the changelog records of a committed transaction (issue 7's re-emitted windows).
  it('keeps a committed transaction that lies between an aborted one and an abort marker with no records', async () => {
    const producer = createTransactionalProducer(config.kafka, `${prefix}-marker`, {
      serializers: stringSerializers,
    })
    try {
      const aborted = await producer.beginTransaction()
      await aborted.send({
        messages: ['a1', 'a2'].map((v) => ({ topic: markerTopic, partition: 0, key: v, value: v })),
      })
      await aborted.abort()
      const committed = await producer.beginTransaction()
      await committed.send({
        messages: ['c1', 'c2', 'c3'].map((v) => ({ topic: markerTopic, partition: 0, key: v, value: v })),
      })
      await committed.commit()
      // Partition 0 joins the transaction, no record is written to it, and the transaction aborts.
      const empty = await producer.beginTransaction()
      const metadata = await producer.metadata({ topics: [markerTopic] })
      await empty.addPartitions(metadata, [{ topic: markerTopic, partition: 0 }] as never)
      await empty.abort()
    } finally {
      await producer.close()
    }

    const consumer = createConsumer(config.kafka, `${prefix}-marker-reader`)
    try {
      const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed' })
      const values: string[] = []
      let offset = 0
      // abort() returns before the coordinator has written the lone marker (offset 7): until it has, the
      // last stable offset is 7. Read on until the marker is passed, for at most ~10 s.
      for (let round = 0; round < 100 && offset < 8; round++) {
        const [batch] = await fetcher.fetch([{ topic: markerTopic, partition: 0, offset }])
        if (batch !== undefined) {
          values.push(...batch.records.map((r) => String(r.value)))
          offset = batch.nextOffset
        }
        if (offset < 8) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      // a1 a2, abort marker, c1 c2 c3, commit marker, the lone abort marker.
      expect(offset).toBe(8)
      expect(values).toEqual(['c1', 'c2', 'c3'])
    } finally {
      await consumer.close()
    }
  })
})

describe('stableEnds (where a restore ends; the resets refuse open transactions with it)', () => {
  it('names the partitions a transaction is still open on, waits for it, and ends at the committed records', async () => {
    const admin = createAdmin(config.kafka, `${prefix}-open-admin`)
    const producer = createTransactionalProducer(config.kafka, `${prefix}-open`, {
      serializers: stringSerializers,
    })
    const partitions = [0, 1, 2].map((partition) => ({ topic: openTopic, partition }))
    try {
      const committed = await producer.beginTransaction()
      await committed.send({ messages: [{ topic: openTopic, partition: 0, key: 'a', value: 'a' }] })
      await committed.commit()
      const open = await producer.beginTransaction()
      await open.send({ messages: [{ topic: openTopic, partition: 1, key: 'b', value: 'b' }] })

      const before = await stableEnds(admin, partitions)
      expect(before.open).toEqual([{ topic: openTopic, partition: 1 }])
      // Partition 0: the record and its commit marker; partition 1: held at the open transaction.
      expect(before.stable.get(partitionKey(openTopic, 0))).toBe(2)
      expect(before.stable.get(partitionKey(openTopic, 1))).toBe(0)
      const started = Date.now()
      const waited = await stableEnds(admin, partitions, { waitMs: 600, pollMs: 100 })
      expect(Date.now() - started).toBeGreaterThanOrEqual(600)
      expect(waited.open).toEqual([{ topic: openTopic, partition: 1 }])
      const stopped = await stableEnds(admin, partitions, { waitMs: 60_000, stop: () => true })
      expect(stopped.open).toHaveLength(1)

      const ending = stableEnds(admin, partitions, { waitMs: 30_000, pollMs: 50 })
      await open.commit()
      const after = await ending
      expect(after.open).toEqual([])
      expect(after.stable.get(partitionKey(openTopic, 1))).toBe(2)
      expect(after.stable.get(partitionKey(openTopic, 2))).toBe(0)
    } finally {
      await producer.close()
      await admin.close()
    }
  })
})
