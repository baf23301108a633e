// Two repartitions in a row, on the real broker, one instance, exactly-once, one commit covering ten
// minutes of event time (a replay). A commit's records become readable partition by partition, as the
// coordinator writes its markers: here the fetcher hides each new batch of hop 1's partitions 0 and 1
// for one round (their markers a round late, as P8 saw for 5 of 8 partitions). The tasks reading
// partitions 2 and 3 must not run ahead meanwhile: what they write to hop 2 would precede the others'
// earlier records there, and the windows behind hop 2 would drop those as late.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { createProducer } from '../../kafka/clients.js'
import { type FetchedPartition, PartitionFetcher } from '../../kafka/partition-fetcher.js'
import { Materialized, Serdes, StreamsBuilder, TimeWindows, WindowedSerdes } from '../../topology/index.js'
import { KafkaStreams } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const input = `${prefix}-in`
const output = `${prefix}-counts`
const appId = `${prefix}-app`
const hop1 = `${appId}-hop1-repartition`
const MINUTE = 60_000
const MINUTES = 10
const PER_MINUTE = 60
const PARTITIONS = 4
const base = Date.UTC(2026, 0, 1)
const str = Serdes.String()
const long = Serdes.Long()

beforeAll(() => createTestTopics(config, [input, output], PARTITIONS))
afterAll(() =>
  deleteTestTopics(config, [
    input,
    output,
    hop1,
    `${appId}-by-all-repartition`,
    `${appId}-dlq`,
    `${appId}-late`,
  ]),
)

it('holds a repartition reader until every partition of a commit shows its marker', async () => {
  // Each input partition: PER_MINUTE records per minute for ten minutes, in time order, 16 keys.
  const producer = createProducer(config.kafka, { clientId: `${prefix}-upstream` })
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const messages = Array.from({ length: MINUTES * PER_MINUTE }, (_, i) => ({
        topic: input,
        partition,
        key: Buffer.from(`k${i % 16}`),
        value: long.serialize(input, 1) as Buffer,
        timestamp: BigInt(base + Math.floor(i / PER_MINUTE) * MINUTE + (i % PER_MINUTE) * 1000),
      }))
      await producer.send({ messages })
    }
  } finally {
    await producer.close()
  }
  // Hop 1's partitions 0 and 1: each new batch shows up one fetch late (the marker not written yet).
  const fetch = PartitionFetcher.prototype.fetch
  const shown = new Set<string>()
  const spy = vi.spyOn(PartitionFetcher.prototype, 'fetch').mockImplementation(async function (
    this: PartitionFetcher,
    positions,
  ) {
    const fetched: FetchedPartition[] = await fetch.call(this, positions)
    return fetched.map((batch) => {
      if (batch.topic !== hop1 || batch.partition > 1 || batch.records.length === 0) return batch
      const from = positions.find((p) => p.topic === hop1 && p.partition === batch.partition)?.offset ?? 0
      const id = `${batch.partition}@${from}`
      if (shown.has(id)) return batch
      shown.add(id)
      return { ...batch, records: [], nextOffset: from, lastStableOffset: from, commitMarkers: [] }
    })
  })
  const builder = new StreamsBuilder()
  builder
    .stream<string, number>(input, { keySerde: str, valueSerde: long })
    .repartition({ name: 'hop1', keySerde: str, valueSerde: long })
    .selectKey(() => 'all')
    .groupByKey({ name: 'by-all', keySerde: str, valueSerde: long })
    .windowedBy(TimeWindows.ofSizeAndGrace(MINUTE, 5000))
    .count(Materialized.as<string, number>('counts').withValueSerde(long))
    .toStream()
    .to(output, { keySerde: WindowedSerdes.timeWindowed(str, MINUTE), valueSerde: long })
  const streams = new KafkaStreams(builder.build(), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'streams-')),
    // One commit for the whole input: hop 1 gets all ten minutes in one transaction.
    commitIntervalMs: 5000,
  })
  await streams.start()
  try {
    const windowSerde = WindowedSerdes.timeWindowed(str, MINUTE)
    const counts = new Map<number, number>()
    const expected = PARTITIONS * PER_MINUTE
    const deadline = Date.now() + 40_000
    while (Date.now() < deadline) {
      for (const r of await readTopicRaw(config, output, {
        expected: 1,
        isolation: 'read_committed',
        quietMs: 300,
      }))
        counts.set(
          windowSerde.deserialize(output, r.key as Buffer).window.start - base,
          long.deserialize('', r.value as Buffer),
        )
      if (counts.size === MINUTES && [...counts.values()].every((n) => n === expected)) break
      await new Promise((r) => setTimeout(r, 500))
    }
    const late = await readTopicRaw(config, `${appId}-late`, {
      expected: 0,
      isolation: 'read_committed',
      quietMs: 300,
      timeoutMs: 3000,
    })
    expect(shown.size).toBeGreaterThan(0)
    expect(late).toHaveLength(0)
    expect(Object.fromEntries(counts)).toEqual(
      Object.fromEntries(Array.from({ length: MINUTES }, (_, m) => [m * MINUTE, expected])),
    )
  } finally {
    spy.mockRestore()
    await streams.close()
  }
}, 90_000)
