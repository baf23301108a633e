// A replay keeps the tasks of one instance together in event time, so that what they write through a
// repartition topic is not late for the windows behind it. Tasks take turns by earliest record; a turn
// ends a little past the next task's earliest record (a turn of 256 sparse records ran minutes ahead
// before: 369 of these 4,000 records came out late), and fetch backpressure pauses a partition, never a
// whole task (a task paused with a table backlog left its stream partition unread: P8's tokens per
// template on a replay). The shape: a stream joined with a table whose backlog differs per task,
// re-keyed, counted per window with 10 s of grace, with small transactions so the backlog takes many
// rounds.
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
import { KafkaStreams } from '../../topology/runtime/index.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { agentsByPartition, sendTimed, TEMPLATES, templateOf } from '../support/template-records.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const tokens = `${prefix}-tokens`
const agents = `${prefix}-agents`
const output = `${prefix}-per-template`
const appId = `${prefix}-app`
const PARTITIONS = 4
const WINDOW_MS = 60_000
const GRACE_MS = 10_000
const SPAN_MS = 600_000
const BASE = Date.UTC(2026, 0, 1)
const str = Serdes.String()

afterAll(() =>
  deleteTestTopics(config, [
    tokens,
    agents,
    output,
    `${appId}-late`,
    `${appId}-dlq`,
    `${appId}-by-template-repartition`,
    `${appId}-agent-table-changelog`,
    `${appId}-per-template-changelog`,
  ]),
)

/** tokens (keyed by agent) join the agent table -> by template -> count per window, once it closes. */
function topology(): Topology {
  const b = new StreamsBuilder()
  const table = b.table<string, string>(
    agents,
    { keySerde: str, valueSerde: str },
    Materialized.as<string, string>('agent-table'),
  )
  b.stream<string, string>(tokens, { keySerde: str, valueSerde: str })
    .leftJoin(table, (_tokens, template, agent) => template ?? templateOf(agent as string))
    .selectKey((_agent, template) => template)
    .groupByKey({ name: 'by-template', keySerde: str, valueSerde: str })
    .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS))
    .emitStrategy(EmitStrategy.onWindowClose())
    .count(Materialized.as('per-template'))
    .toStream()
    .map((key, count): readonly [string, string] => [`${key.key}@${key.window.start - BASE}`, String(count)])
    .to(output, { keySerde: str, valueSerde: str })
  return b.build()
}

it('keeps the tasks together in event time on a replay: no record is late behind a repartition', async () => {
  await createTestTopics(config, [tokens, agents, output], PARTITIONS)
  // Ten agents per partition; table updates very unevenly spread (16k, 8k, 4k and 2k records), so the
  // joining tasks work off their backlogs in different numbers of rounds.
  const byPartition = agentsByPartition(PARTITIONS)
  await sendTimed(
    config,
    `${prefix}-upstream`,
    byPartition.flatMap((list, p) =>
      Array.from({ length: 16_000 >> p }, (_, i) => {
        const agent = list[i % list.length] as string
        return {
          topic: agents,
          key: agent,
          value: templateOf(agent),
          at: BASE + Math.floor((i * SPAN_MS) / (16_000 >> p)),
        }
      }),
    ),
  )
  const allAgents = byPartition.flat()
  const tokenRecords = Array.from({ length: 4000 }, (_, i) => ({
    agent: allAgents[(i * 7) % allAgents.length] as string,
    at: BASE + Math.floor((i * SPAN_MS) / 4000),
  }))
  const expected = new Map<string, string>()
  for (const r of tokenRecords) {
    const key = `${templateOf(r.agent)}@${Math.floor((r.at - BASE) / WINDOW_MS) * WINDOW_MS}`
    expected.set(key, String(Number(expected.get(key) ?? 0) + 1))
  }

  // Transactions of at most 2,000 records: the table backlog takes many rounds.
  const streams = new KafkaStreams(topology(), {
    applicationId: appId,
    bootstrapServers: config.kafka.bootstrapServers,
    stateDir: mkdtempSync(join(tmpdir(), 'streams-')),
    maxTransactionRecords: 2000,
  })
  await streams.start()
  try {
    // The stream arrives while the tasks work off the table backlog; then one record per template far
    // past every window, so that every window closes.
    await sendTimed(config, `${prefix}-upstream`, [
      ...tokenRecords.map((r) => ({ topic: tokens, key: r.agent, value: '1', at: r.at })),
      ...Array.from({ length: TEMPLATES }, (_, t) => {
        const agent = allAgents.find((a) => templateOf(a) === `tpl-${t}`) as string
        return { topic: tokens, key: agent, value: '1', at: BASE + SPAN_MS + 10 * WINDOW_MS }
      }),
    ])
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
    expect(late.length, 'records found too late for their windows').toBe(0)
    expect(new Map(windows.map((r) => [r.key?.toString() as string, r.value?.toString() as string]))).toEqual(
      expected,
    )
  } finally {
    await streams.close()
  }
})
