// KStream.combine() before a repartition, on the real broker, with two tasks in one instance and one
// commit covering ten minutes of event time (a replay): the folds of both tasks reach the repartition
// topic in one timestamp order, so the windowed sums behind it (no grace) find none of them late and
// come out exact. Sent task after task, the second task's folds of the first nine minutes would follow
// the first task's fold of the tenth, and be dropped as late.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createProducer } from '../../kafka/clients.js'
import { Materialized, Serdes, StreamsBuilder, TimeWindows, WindowedSerdes } from '../../topology/index.js'
import { KafkaStreams } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const input = `${prefix}-in`
const output = `${prefix}-sums`
const appId = `${prefix}-app`
const MINUTE = 60_000
const MINUTES = 10
const PER_MINUTE = 100
const base = Date.UTC(2026, 0, 1)
const str = Serdes.String()
const long = Serdes.Long()

beforeAll(() => createTestTopics(config, [input, output], 2))
afterAll(() =>
  deleteTestTopics(config, [
    input,
    output,
    `${appId}-dlq`,
    `${appId}-late`,
    `${appId}-sums-by-window-repartition`,
  ]),
)

it('sends the folds of all tasks in one timestamp order: none late behind the repartition', async () => {
  // Each partition: PER_MINUTE records of value 1 in each of the ten minutes, in time order.
  const producer = createProducer(config.kafka, { clientId: `${prefix}-upstream` })
  try {
    for (const partition of [0, 1]) {
      const messages = Array.from({ length: MINUTES * PER_MINUTE }, (_, i) => ({
        topic: input,
        partition,
        key: Buffer.from(`k${partition}`),
        value: long.serialize(input, 1) as Buffer,
        timestamp: BigInt(base + Math.floor(i / PER_MINUTE) * MINUTE + (i % PER_MINUTE) * 500),
      }))
      await producer.send({ messages })
    }
  } finally {
    await producer.close()
  }
  const builder = new StreamsBuilder()
  builder
    .stream<string, number>(input, { keySerde: str, valueSerde: long })
    .selectKey(() => 'all')
    .combine(
      () => 0,
      (_key, value, sum) => sum + value,
      { sliceMs: MINUTE },
    )
    .groupByKey({ name: 'sums-by-window', keySerde: str, valueSerde: long })
    .windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE))
    .reduce((a, b) => a + b, Materialized.as<string, number>('sums').withValueSerde(long))
    .toStream()
    .to(output, { keySerde: WindowedSerdes.timeWindowed(str, MINUTE), valueSerde: long })
  const streams = new KafkaStreams(builder.build(), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'streams-')),
    // One commit for the whole input: the folds of both tasks cover all ten minutes.
    commitIntervalMs: 5000,
  })
  await streams.start()
  try {
    const windowSerde = WindowedSerdes.timeWindowed(str, MINUTE)
    const sums = new Map<number, number>()
    const deadline = Date.now() + 40_000
    while (Date.now() < deadline) {
      for (const r of await readTopicRaw(config, output, {
        expected: 1,
        isolation: 'read_committed',
        quietMs: 300,
      }))
        sums.set(
          windowSerde.deserialize(output, r.key as Buffer).window.start - base,
          long.deserialize('', r.value as Buffer),
        )
      if (sums.size === MINUTES && [...sums.values()].every((n) => n === 2 * PER_MINUTE)) break
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(Object.fromEntries(sums)).toEqual(
      Object.fromEntries(Array.from({ length: MINUTES }, (_, m) => [m * MINUTE, 2 * PER_MINUTE])),
    )
    const late = await readTopicRaw(config, `${appId}-late`, {
      expected: 0,
      isolation: 'read_committed',
      quietMs: 300,
      timeoutMs: 3000,
    }).catch(() => [])
    expect(late).toHaveLength(0)
  } finally {
    await streams.close()
  }
}, 90_000)
