// `agent-party produce` against Kafka: fixture topics that keep old events, and a clear refusal
// to write events older than a topic's retention (Kafka would delete them by their timestamps).
import { afterAll, describe, expect, it } from 'vitest'
import { createAdmin } from '../../kafka/clients.js'
import { describeTopics } from '../../kafka/topics.js'
import { ProduceTargetError, prefixedTopics, prepareProduceTargets } from '../../ops/produce.js'
import { EVENT_FAMILIES, RegistryClient, valueSubject } from '../../schemas/index.js'
import { runCli } from '../support/cli.js'
import { deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = `${testPrefix(import.meta.url)}.`
const config = stackConfig()
const fixtures = prefixedTopics(`${prefix}fixture.`)
const weekly = prefixedTopics(`${prefix}weekly.`)
const OLD = Date.UTC(2026, 0, 1)

afterAll(async () => {
  await deleteTestTopics(config, [...Object.values(fixtures), ...Object.values(weekly)])
  const client = new RegistryClient({ url: config.schemaRegistry.url })
  for (const family of EVENT_FAMILIES) await client.deleteSubject(valueSubject(fixtures[family]), true)
})

describe('produce targets', () => {
  it('refuses events older than a target topic retention, naming the topics and the fix', async () => {
    const admin = createAdmin(config.kafka, 'test')
    try {
      await admin.createTopics({
        topics: Object.values(weekly),
        partitions: 1,
        replicas: 1,
        configs: [{ name: 'retention.ms', value: '604800000' }],
      })
    } finally {
      await admin.close()
    }
    const error = await prepareProduceTargets(config, { topics: weekly, oldestEventTime: OLD }).catch(
      (e) => e,
    )
    expect(error).toBeInstanceOf(ProduceTargetError)
    expect(error.message).toContain(`${weekly.agent_events} (retention.ms=604800000)`)
    expect(error.message).toMatch(/--topic-prefix <p> --create-topics/)
    // a recent base time is fine
    await prepareProduceTargets(config, { topics: weekly, oldestEventTime: Date.now() - 60_000 })
  })

  it('refuses missing topics unless asked to create them', async () => {
    const error = await prepareProduceTargets(config, { topics: fixtures, oldestEventTime: OLD }).catch(
      (e) => e,
    )
    expect(error).toBeInstanceOf(ProduceTargetError)
    expect(error.message).toMatch(/do not exist.*--create-topics/)
  })

  it('writes old fixture events through the CLI into topics it creates with retention.ms=-1', async () => {
    const result = await runCli(
      [
        'produce',
        '-n',
        '500',
        '--seed',
        'fixture',
        '--base-time',
        '2026-01-01T00:00:00Z',
        '--topic-prefix',
        `${prefix}fixture.`,
        '--create-topics',
        '--json',
      ],
      stackEnv(),
    )
    expect(result.code, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout) as { written: number; byTopic: Record<string, number> }
    expect(summary.written).toBe(500)
    expect(Object.keys(summary.byTopic).sort()).toEqual(Object.values(fixtures).sort())

    const admin = createAdmin(config.kafka, 'test')
    try {
      const described = await describeTopics(admin, Object.values(fixtures))
      expect(described.map((d) => [d.partitions, d.configs['retention.ms']])).toEqual([
        [8, '-1'],
        [8, '-1'],
        [8, '-1'],
        [4, '-1'],
      ])
    } finally {
      await admin.close()
    }
    const records = await readTopicRaw(config, Object.values(fixtures), {
      expected: 500,
      isolation: 'read_committed',
    })
    expect(records).toHaveLength(500)
    expect(Math.min(...records.map((r) => Number(r.timestamp)))).toBe(OLD)
  })
})
