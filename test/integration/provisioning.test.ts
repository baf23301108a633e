// Provisioning against the real broker: the event topics as the operations guide defines them,
// idempotence, and a mismatching existing topic reported rather than accepted.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { EVENT_TOPICS } from '../../deploy/kafka/topics.js'
import { createAdmin } from '../../kafka/clients.js'
import { describeTopics, ensureTopics, TopicMismatchError } from '../../kafka/topics.js'
import { provisionTopics } from '../../ops/provision.js'
import { deleteTestTopics } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const admin = createAdmin(config.kafka, 'test')

const renamed = {
  agent_events: `${prefix}-agents`,
  team_events: `${prefix}-teams`,
  task_events: `${prefix}-tasks`,
  system_events: `${prefix}-system`,
}

const raced: string[] = []

afterAll(async () => {
  await deleteTestTopics(config, [`${prefix}-a`, `${prefix}-b`, ...Object.values(renamed), ...raced])
  await admin.close()
})

describe('event topics', () => {
  it('exist with the partitions and retention of the operations guide (read back through the admin API)', async () => {
    // `stack up` provisioned them; provisioning again must change nothing.
    const second = await provisionTopics(config)
    expect(second.created).toEqual([])
    expect(second.existing.sort()).toEqual(['agent_events', 'system_events', 'task_events', 'team_events'])

    const described = await describeTopics(
      admin,
      EVENT_TOPICS.map((t) => t.name),
    )
    expect(
      described.map((d) => [d.name, d.partitions, d.configs['retention.ms'], d.configs['cleanup.policy']]),
    ).toEqual([
      ['agent_events', 8, '604800000', 'delete'],
      ['team_events', 8, '604800000', 'delete'],
      ['task_events', 8, '604800000', 'delete'],
      ['system_events', 4, '1209600000', 'delete'],
    ])
    expect(described.every((d) => d.replicationFactor === config.kafka.replicationFactor)).toBe(true)
  })
})

describe('event topics renamed in PROCESSOR_CONFIG', () => {
  it('are created under the names the processor reads, with the same partitions and retention', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'provision-')), 'processor.json')
    writeFileSync(file, JSON.stringify({ inputTopics: renamed }))
    const result = await provisionTopics({ ...config, processor: { configFile: file } })
    expect(result.created.sort()).toEqual(Object.values(renamed).sort())
    const described = await describeTopics(admin, Object.values(renamed))
    expect(described.map((d) => [d.name, d.partitions, d.configs['retention.ms']])).toEqual([
      [renamed.agent_events, 8, '604800000'],
      [renamed.team_events, 8, '604800000'],
      [renamed.task_events, 8, '604800000'],
      [renamed.system_events, 4, '1209600000'],
    ])
  })
})

describe('ensureTopics', () => {
  const specA = { name: `${prefix}-a`, partitions: 3, configs: { 'retention.ms': '3600000' } }
  const specB = { name: `${prefix}-b`, partitions: 2, configs: { 'retention.ms': '-1' } }

  it('creates missing topics, then reports them as existing', async () => {
    expect(await ensureTopics(admin, [specA, specB], 1)).toEqual({
      created: [specA.name, specB.name],
      existing: [],
    })
    expect(await ensureTopics(admin, [specA, specB], 1)).toEqual({
      created: [],
      existing: [specA.name, specB.name],
    })
  })

  it('reports an existing topic whose partitions or retention differ, naming both values', async () => {
    const wanted = [
      { ...specA, partitions: 8 },
      { ...specB, configs: { 'retention.ms': '604800000' } },
    ]
    const error = await ensureTopics(admin, wanted, 1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TopicMismatchError)
    expect((error as TopicMismatchError).mismatches).toEqual([
      { topic: specA.name, setting: 'partitions', expected: '8', actual: '3' },
      { topic: specB.name, setting: 'retention.ms', expected: '604800000', actual: '-1' },
    ])
    // and it was left as it was
    const [a] = await describeTopics(admin, [specA.name])
    expect(a?.partitions).toBe(3)
  })

  // Instances of a new application started at the same moment (replicas of a deployment) all create its
  // internal topics: each must find them created, whoever won. One of three failed with
  // TOPIC_ALREADY_EXISTS in about half of such rounds, while the winner's topic was not listed yet.
  it('lets several callers create the same topics at once: each ends with them created', async () => {
    const admins = [0, 1, 2].map(() => createAdmin(config.kafka, 'test'))
    try {
      for (let round = 0; round < 6; round++) {
        const specs = [0, 1, 2, 3].map((i) => ({
          name: `${prefix}-race-${round}-${i}`,
          partitions: 4,
          configs: { 'cleanup.policy': 'compact' },
        }))
        raced.push(...specs.map((s) => s.name))
        const results = await Promise.all(admins.map((a) => ensureTopics(a, specs, 1)))
        // Every topic was created by exactly one of them; the others found it.
        for (const spec of specs) {
          expect(results.filter((r) => r.created.includes(spec.name)).length).toBeLessThanOrEqual(1)
          for (const r of results) expect([...r.created, ...r.existing]).toContain(spec.name)
        }
        const described = await describeTopics(
          admin,
          specs.map((s) => s.name),
        )
        expect(described.map((d) => d.partitions)).toEqual([4, 4, 4, 4])
      }
    } finally {
      await Promise.all(admins.map((a) => a.close()))
    }
  })
})
