// A table whose output topic is also its store's changelog (Materialized.withChangelogTopic) on the
// real broker: each change is written once, to that topic, and no internal changelog is created; an
// instance with an empty state directory restores the table from the topic and counts on from there;
// the application reset writes a tombstone for every key of the topic, so that the replay counts from zero (not on top of the
// run before); and the runtime refuses, before it joins, a topic with another partition count than the
// table has tasks, or one that deletes records, naming the topic and the fix.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin, createTransactionalProducer } from '../../kafka/clients.js'
import { ensureTopics, untilListed } from '../../kafka/topics.js'
import { Materialized, type Serde, Serdes, StreamsBuilder, type Topology } from '../../topology/index.js'
import { KafkaStreams, resetApplication } from '../../topology/runtime/index.js'
import { deleteTestTopics, type RawRecord, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { produceWords, wordCounts } from '../support/words.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const input = `${prefix}-words`
const counts = `${prefix}-counts`
const appId = `${prefix}-app`
const PARTITIONS = 3
const KEYS = 40
const str = Serdes.String()
const long = Serdes.Long()

function countsTopology(output: string, valueSerde: Serde<number> = long): Topology {
  const builder = new StreamsBuilder()
  builder
    .stream<string, string>(input, { keySerde: str, valueSerde: str })
    .groupByKey()
    .count(
      Materialized.as<string, number>('word-counts')
        .withKeySerde(str)
        .withValueSerde(valueSerde)
        .withChangelogTopic(output),
    )
  return builder.build()
}

async function createTopics(specs: { name: string; partitions: number; configs: Record<string, string> }[]) {
  const admin = createAdmin(config.kafka, 'test')
  try {
    await ensureTopics(admin, specs, 1)
    await untilListed(
      admin,
      specs.map((s) => s.name),
    )
  } finally {
    await admin.close()
  }
}

const produce = (n: number, from: number) =>
  produceWords(config, input, { n, from, keys: KEYS, clientId: `${prefix}-upstream` })
const expectedCounts = (total: number) => wordCounts(total, KEYS)

/** The last value of each key, in offset order per partition (the table as a reader of the topic rebuilds it). */
function lastPerKey(records: readonly RawRecord[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of records) {
    const key = (r.key as Buffer).toString()
    if (r.value) out[key] = long.deserialize('', r.value)
    else delete out[key]
  }
  return out
}

function lastPerKeyOrNull(records: readonly RawRecord[]): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  for (const r of records)
    out[(r.key as Buffer).toString()] = r.value ? long.deserialize('', r.value as Buffer) : null
  return Object.fromEntries(Object.entries(out).sort())
}

async function readCounts(expected: Record<string, number>): Promise<Record<string, number>> {
  const deadline = Date.now() + 30_000
  let got: Record<string, number> = {}
  while (Date.now() < deadline) {
    got = lastPerKey(
      await readTopicRaw(config, counts, { expected: 1, isolation: 'read_committed', quietMs: 300 }),
    )
    if (JSON.stringify(sorted(got)) === JSON.stringify(sorted(expected))) break
    await new Promise((r) => setTimeout(r, 300))
  }
  return got
}

function instance(topology: Topology): KafkaStreams {
  return new KafkaStreams(topology, {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'streams-')),
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
  })
}

const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort())

/** Runs an instance until the topic's counts are those of the first `total` records (or 30 s), sorted. */
async function runUntil(topology: Topology, total: number): Promise<Record<string, number>> {
  const streams = instance(topology)
  await streams.start()
  try {
    return sorted(await readCounts(expectedCounts(total)))
  } finally {
    await streams.close()
  }
}

beforeAll(() =>
  createTopics([
    { name: input, partitions: PARTITIONS, configs: { 'retention.ms': '-1' } },
    { name: counts, partitions: PARTITIONS, configs: { 'cleanup.policy': 'compact' } },
  ]),
)
afterAll(async () => {
  const admin = createAdmin(config.kafka, 'test')
  await admin.deleteGroups({ groups: [appId] }).catch(() => {})
  await admin.close()
  await deleteTestTopics(config, [input, counts, `${appId}-dlq`, `${appId}-late`])
})

describe('Materialized.withChangelogTopic()', () => {
  it('writes each change once to the topic, restores from it into an empty state directory, and the reset clears it', async () => {
    const topology = countsTopology(counts)
    await produce(1200, 0)
    expect(await runUntil(topology, 1200)).toEqual(sorted(expectedCounts(1200)))
    const admin = createAdmin(config.kafka, 'test')
    try {
      // No internal changelog: the output is the only copy.
      expect((await admin.listTopics()).filter((t) => t.startsWith(appId))).not.toContain(
        `${appId}-word-counts-changelog`,
      )
    } finally {
      await admin.close()
    }

    // A new instance with nothing on disk: its counts come back from the topic, and go on from there.
    await produce(600, 1200)
    expect(await runUntil(topology, 1800)).toEqual(sorted(expectedCounts(1800)))

    // The reset keeps the topic and writes a tombstone for every key; the replay counts from zero.
    const report = await resetApplication(topology, {
      applicationId: appId,
      bootstrapServers: config.kafka.bootstrapServers,
    })
    expect(report.deletedTopics).not.toContain(counts)
    expect(report.clearedTopics.reduce((n, c) => n + c.tombstones, 0)).toBe(KEYS)
    expect(
      lastPerKeyOrNull(
        await readTopicRaw(config, counts, { expected: 1, isolation: 'read_committed', quietMs: 300 }),
      ),
    ).toEqual(Object.fromEntries(Object.keys(sorted(expectedCounts(1800))).map((k) => [k, null])))
    // Without the tombstones the restored table would start at the last run's counts: 3600 in all.
    expect(await runUntil(topology, 1800)).toEqual(sorted(expectedCounts(1800)))
  }, 180_000)

  it('restores through a value serde whose prepare() fails at first, fetching the batch again until it succeeds', async () => {
    // A registry serde that cannot reach its registry for a while: prepare() rejects twice.
    let failures = 2
    let prepared = 0
    const flaky: Serde<number> = {
      ...long,
      prepare: async (topic, values) => {
        expect(topic).toBe(counts)
        if (failures-- > 0) throw new Error('registry unavailable')
        prepared += values.length
      },
    }
    const restorable = (
      await readTopicRaw(config, counts, { expected: 1, isolation: 'read_committed', quietMs: 300 })
    ).filter((r) => r.value !== undefined).length
    await produce(300, 1800)
    const started = Date.now()
    // The restored counts (the first test's 1800) go on with the 300 new records.
    expect(await runUntil(countsTopology(counts, flaky), 2100)).toEqual(sorted(expectedCounts(2100)))
    // Both failures happened, and the batches they refused were fetched again (1 s later) and
    // prepared: every value the restore applied was prepared once.
    expect(failures).toBeLessThan(0)
    expect(prepared).toBe(restorable)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
  }, 120_000)

  it('refuses the reset with nothing changed while a transaction is still open on the topic', async () => {
    const admin = createAdmin(config.kafka, 'test')
    const committed = async () => {
      const [group] = await admin.listConsumerGroupOffsets({ groups: [appId] })
      return (group?.topics ?? [])
        .flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}@${p.committedOffset}`))
        .sort()
    }
    // What a stopped instance leaves: a transaction on the table's topic that the broker has not ended.
    const producer = createTransactionalProducer(config.kafka, `${prefix}-left-open`)
    try {
      const before = await committed()
      expect(before.length).toBeGreaterThan(0)
      const open = await producer.beginTransaction()
      await open.send({
        messages: [
          {
            topic: counts,
            partition: 0,
            key: Buffer.from('w0'),
            value: long.serialize(counts, 99) as Buffer,
          },
        ],
      })
      await expect(
        resetApplication(countsTopology(counts), {
          applicationId: appId,
          bootstrapServers: config.kafka.bootstrapServers,
        }),
      ).rejects.toThrow(
        new RegExp(`TRANSACTION_OPEN: a transaction is still open on ${counts}-0 .*nothing was reset`),
      )
      // The input offsets were not moved back: a start now would not count anything twice.
      expect(await committed()).toEqual(before)
      await open.abort()
    } finally {
      await producer.close()
      await admin.close()
    }
  })

  it('refuses to start on a topic with another partition count than the table has tasks, or one that deletes records', async () => {
    const wrongCount = `${prefix}-counts-2p`
    const deleting = `${prefix}-counts-delete`
    await createTopics([
      { name: wrongCount, partitions: 2, configs: { 'cleanup.policy': 'compact' } },
      {
        name: deleting,
        partitions: PARTITIONS,
        configs: { 'cleanup.policy': 'delete', 'retention.ms': '3600000' },
      },
    ])
    try {
      await expect(instance(countsTopology(wrongCount)).start()).rejects.toThrow(
        new RegExp(
          `${wrongCount}, the changelog of store word-counts, has 2 partitions but the store has 3 tasks`,
        ),
      )
      await expect(instance(countsTopology(deleting)).start()).rejects.toThrow(
        /would lose records a restore needs: cleanup.policy is delete, not compact/,
      )
      await expect(instance(countsTopology(`${prefix}-counts-missing`)).start()).rejects.toThrow(
        /counts-missing.*not exist/,
      )
    } finally {
      await deleteTestTopics(config, [wrongCount, deleting])
    }
  })
})
