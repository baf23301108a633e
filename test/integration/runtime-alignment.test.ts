// Two instances of one application replaying a backlog stay together in event time with
// eventTimeAlignment, so that a windowed aggregate behind a repartition topic both write gets every
// record in time. Both start at the same moment (as a deployment's replicas do) and share the tasks
// before the backlog comes, in event-time order across the partitions, a batch of 2,000 records (35 s
// of event time) at a time. It is lopsided: partition 0 holds twenty times the records of each other
// partition over the same ten minutes, so the instance that owns it is the slow one. Without alignment
// the other runs up to a batch ahead, and the windows behind the repartition drop the slow one's
// records as late (the second case shows it, so the first can fail). With it (5 s of drift, 10 s of
// grace) none is late and every window has its exact count. The instances are also bound by what the
// other has not committed yet: records processed in step but committed later reach the repartition
// topic after the other's (this test found that: 2.5k-4.4k records late before).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import {
  EmitStrategy,
  Materialized,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
} from '../../topology/index.js'
import { KafkaStreams, type StreamsConfig } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { agentsByPartition, sendTimed, TEMPLATES, templateOf } from '../support/template-records.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const PARTITIONS = 4
const WINDOW_MS = 10_000
const GRACE_MS = 10_000
const SPAN_MS = 600_000
const BASE = Date.UTC(2026, 0, 1)
const DENSE = 30_000
const SPARSE = 1_500
const str = Serdes.String()
const created: string[] = []

afterAll(() => deleteTestTopics(config, created))

function topology(input: string, output: string): Topology {
  const b = new StreamsBuilder()
  b.stream<string, string>(input, { keySerde: str, valueSerde: str })
    .selectKey((agent) => templateOf(agent as string))
    .groupByKey({ name: 'by-template', keySerde: str, valueSerde: str })
    .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS))
    .emitStrategy(EmitStrategy.onWindowClose())
    .count(Materialized.as('per-template'))
    .toStream()
    .map((key, count): readonly [string, string] => [`${key.key}@${key.window.start - BASE}`, String(count)])
    .to(output, { keySerde: str, valueSerde: str })
  return b.build()
}

async function replayWithTwoInstances(
  name: string,
  alignment: StreamsConfig['eventTimeAlignment'],
): Promise<{ late: number; windows: Map<string, string>; expected: Map<string, string> }> {
  const input = `${prefix}-${name}-events`
  const output = `${prefix}-${name}-per-template`
  const appId = `${prefix}-${name}-app`
  created.push(
    input,
    output,
    `${appId}-late`,
    `${appId}-dlq`,
    `${appId}-event-time`,
    `${appId}-by-template-repartition`,
    `${appId}-per-template-changelog`,
  )
  await createTestTopics(config, [input, output], PARTITIONS)
  const byPartition = agentsByPartition(PARTITIONS)
  const records = byPartition.flatMap((list, p) => {
    const count = p === 0 ? DENSE : SPARSE
    return Array.from({ length: count }, (_, i) => ({
      key: list[i % list.length] as string,
      at: BASE + Math.floor((i * SPAN_MS) / count),
    }))
  })
  const expected = new Map<string, string>()
  for (const r of records) {
    const key = `${templateOf(r.key)}@${Math.floor((r.at - BASE) / WINDOW_MS) * WINDOW_MS}`
    expected.set(key, String(Number(expected.get(key) ?? 0) + 1))
  }
  const instances = [0, 1].map(
    (i) =>
      new KafkaStreams(topology(input, output), {
        applicationId: appId,
        bootstrapServers: config.kafka.bootstrapServers,
        stateDir: mkdtempSync(join(tmpdir(), 'streams-')),
        instanceId: `${name}-${i}`,
        ...(alignment === undefined ? {} : { eventTimeAlignment: alignment }),
      }),
  )
  try {
    // Started at the same moment, as a deployment's replicas are: both create the internal topics.
    await Promise.all(instances.map((instance) => instance.start()))
    // Both hold their tasks before the backlog comes: it is a replay by two, not by one.
    const deadline = Date.now() + 60_000
    for (;;) {
      const statuses = instances.map((s) => s.status())
      const settled =
        statuses.every((s) => s.state === 'RUNNING' && s.activeTasks.length > 0) &&
        statuses[0]?.generationId === statuses[1]?.generationId
      if (settled) break
      if (Date.now() > deadline)
        throw new Error(`the two instances never shared the tasks: ${JSON.stringify(statuses)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // The backlog in event-time order across the partitions, 2,000 records a send (a backlog every
    // partition gets at once, as the instances read it); then one record per template far past every
    // window, so that every window closes.
    const backlog = [...records].sort((x, y) => x.at - y.at)
    await sendTimed(
      config,
      `${prefix}-upstream`,
      [
        ...backlog.map((r) => ({ topic: input, key: r.key, value: '1', at: r.at })),
        ...Array.from({ length: TEMPLATES }, (_, t) => ({
          topic: input,
          key: byPartition.flat().find((a) => templateOf(a) === `tpl-${t}`) as string,
          value: '1',
          at: BASE + SPAN_MS + 10 * WINDOW_MS,
        })),
      ],
      2000,
    )
    const windows = await readTopicRaw(config, output, {
      expected: expected.size,
      isolation: 'read_committed',
      timeoutMs: 120_000,
      quietMs: 2000,
    })
    const late = await readTopicRaw(config, `${appId}-late`, {
      expected: 0,
      isolation: 'read_committed',
      timeoutMs: 3000,
    })
    return {
      late: late.length,
      windows: new Map(windows.map((r) => [r.key?.toString() as string, r.value?.toString() as string])),
      expected,
    }
  } finally {
    await Promise.all(instances.map((s) => s.close()))
  }
}

it('keeps two instances together in event time: no record behind the repartition is late', async () => {
  const { late, windows, expected } = await replayWithTwoInstances('aligned', { maxDriftMs: 5000 })
  expect(late, 'records found too late for their windows').toBe(0)
  expect(windows).toEqual(expected)
})

it('without alignment the instance with the lighter partitions runs ahead and records come late', async () => {
  const { late } = await replayWithTwoInstances('unaligned', undefined)
  expect(late).toBeGreaterThan(0)
})
