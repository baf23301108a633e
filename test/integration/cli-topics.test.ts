// `agent-party topics create|describe` against the real broker, run as a user runs them, with this
// file's application (PROCESSOR_CONFIG naming its id and topics): without names, create makes every
// project topic with its definition (event topics, outputs, late and dead-letter) and a second run
// changes nothing; on a named topic the options apply, describe shows the configs and each
// partition's earliest and latest offsets; a partition increase is refused (exit 5, nothing changed)
// unless --force, a decrease fails (exit 4). Every topic made here is deleted after.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Admin, stringSerializers } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import { createAdmin, createProducer } from '../../kafka/clients.js'
import { describeTopics } from '../../kafka/topics.js'
import { prefixedTopics } from '../../ops/produce.js'
import type { TopicCreateOutcome, TopicReport } from '../../ops/topics.js'
import { OUTPUT_NAMES } from '../../processors/outputs.js'
import { runCli, runInProcess } from '../support/cli.js'
import { deleteTestTopics } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const inputs = prefixedTopics(`${prefix}.`)
const outputs = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`]))
const applicationId = `${prefix}-app`
const keyed = `${prefix}-keyed`
const projectTopics = [
  ...Object.values(inputs),
  ...Object.values(outputs),
  `${applicationId}-late`,
  `${applicationId}-dlq`,
]
const dir = mkdtempSync(join(tmpdir(), 'cli-topics-'))
const processorFile = join(dir, 'processor.json')
const env = { ...stackEnv(), PROCESSOR_CONFIG: processorFile }
const DAY_MS = 86_400_000
let admin: Admin

const cli = (args: string[]) => runCli(args, env, 90_000)
const here = (args: string[]) => runInProcess(args, env)

async function partitions(topic: string): Promise<number | undefined> {
  return (await describeTopics(admin, [topic]))[0]?.partitions
}

beforeAll(() => {
  writeFileSync(processorFile, JSON.stringify({ applicationId, inputTopics: inputs, outputTopics: outputs }))
  admin = createAdmin(config.kafka, 'cli-topics-test')
})

afterAll(async () => {
  await admin?.close()
  await deleteTestTopics(config, [...projectTopics, keyed])
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party topics', () => {
  it("creates the project's topics with their definitions, and a second run changes nothing", async () => {
    const first = await cli(['topics', 'create', '--json'])
    expect(first.code, first.stderr).toBe(EXIT.OK)
    const outcomes = JSON.parse(first.stdout) as TopicCreateOutcome[]
    expect(outcomes.map((o) => o.topic).sort()).toEqual([...projectTopics].sort())
    expect(outcomes.every((o) => o.action === 'created')).toBe(true)

    const described = new Map((await describeTopics(admin, projectTopics)).map((d) => [d.name, d]))
    expect(described.get(inputs.agent_events)).toMatchObject({
      partitions: 8,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
    })
    expect(described.get(inputs.system_events)).toMatchObject({
      partitions: 4,
      configs: { 'retention.ms': String(14 * DAY_MS) },
    })
    expect(described.get(`${prefix}-agents`)).toMatchObject({
      partitions: 8,
      configs: { 'cleanup.policy': 'compact' },
    })
    expect(described.get(`${prefix}-tokensByAgent`)?.configs['cleanup.policy']).toBe('compact,delete')
    expect(described.get(`${prefix}-alerts`)?.configs['retention.ms']).toBe(String(14 * DAY_MS))
    // No time retention: dead letters and late records keep their (possibly old) event timestamps.
    for (const letters of [`${applicationId}-dlq`, `${applicationId}-late`]) {
      expect(described.get(letters)).toMatchObject({ partitions: 1, configs: { 'retention.ms': '-1' } })
    }

    const again = await here(['topics', 'create'])
    expect(again.code, again.stderr).toBe(EXIT.OK)
    expect(again.stdout.match(/already as asked$/gm)).toHaveLength(projectTopics.length)
  })

  it('creates a named topic with the options given and describes it with its offsets', async () => {
    const created = await here([
      'topics',
      'create',
      keyed,
      '--partitions',
      '2',
      '--retention-ms',
      '3600000',
      '--config',
      'max.message.bytes=2000000',
    ])
    expect(created.code, created.stderr).toBe(EXIT.OK)
    expect(created.stdout).toMatch(new RegExp(`^${keyed}\\s+2\\s+created$`, 'm'))
    const producer = createProducer(config.kafka, { serializers: stringSerializers })
    try {
      await producer.send({
        messages: [
          ...['a', 'b', 'c'].map((value) => ({ topic: keyed, partition: 0, key: 'k', value })),
          { topic: keyed, partition: 1, key: 'k', value: 'd' },
        ],
      })
    } finally {
      await producer.close()
    }
    const json = await cli(['topics', 'describe', keyed, '--json'])
    expect(json.code, json.stderr).toBe(EXIT.OK)
    const [report] = JSON.parse(json.stdout) as TopicReport[]
    expect(report).toMatchObject({
      topic: keyed,
      partitions: 2,
      replicationFactor: 1,
      retentionMs: '3600000',
      cleanupPolicy: 'delete',
      configs: { 'max.message.bytes': '2000000' },
    })
    expect(report?.partitionOffsets.map((p) => [p.partition, p.earliest, p.latest])).toEqual([
      [0, 0, 3],
      [1, 0, 1],
    ])
    const text = await here(['topics', 'describe', keyed])
    expect(text.stdout).toContain(`topic ${keyed}: 2 partition(s), replication 1, retention.ms 3600000`)
    expect(text.stdout).toMatch(/^0\s+\d+\s+\d+\s+\d+\s+0\s+3$/m)

    const missing = await here(['topics', 'describe', `${prefix}-nothing`])
    expect(missing.code).toBe(EXIT.FAILURE)
    expect(missing.stderr).toContain(`${prefix}-nothing do not exist`)
  })

  it('refuses a partition increase unless forced, and cannot lower the count', async () => {
    const refused = await cli(['topics', 'create', keyed, '--partitions', '4'])
    expect(refused.code).toBe(EXIT.REFUSED)
    expect(refused.stderr).toContain(`${keyed} (2 -> 4)`)
    expect(refused.stderr).toContain('Keyed state and co-partitioning break')
    expect(refused.stderr).not.toMatch(/^\s+at /m)
    expect(await partitions(keyed)).toBe(2)

    const forced = await here(['topics', 'create', keyed, '--partitions', '4', '--force', '--json'])
    expect(forced.code, forced.stderr).toBe(EXIT.OK)
    expect(JSON.parse(forced.stdout)).toEqual([
      { topic: keyed, action: 'partitions-increased', partitions: { before: 2, after: 4 }, configsSet: {} },
    ])
    // The controller has it; the broker's metadata follows within moments (KRaft publishes it).
    await expect.poll(() => partitions(keyed), { timeout: 10_000 }).toBe(4)

    const lower = await here(['topics', 'create', keyed, '--partitions', '3', '--force'])
    expect(lower.code).toBe(EXIT.MISMATCH)
    expect(lower.stderr).toContain(`${keyed}: partitions is 4, expected 3`)
    expect(lower.stderr).toContain('cannot be lowered')
    expect(await partitions(keyed)).toBe(4)
  })

  it('sets the configs given on an existing topic, and reports one that differs from its definition', async () => {
    const set = await here(['topics', 'create', keyed, '--retention-ms', '-1'])
    expect(set.code, set.stderr).toBe(EXIT.OK)
    expect(set.stdout).toContain('set retention.ms=-1')
    await expect
      .poll(async () => (await describeTopics(admin, [keyed]))[0]?.configs['retention.ms'], {
        timeout: 10_000,
      })
      .toBe('-1')

    const changed = await here(['topics', 'create', inputs.team_events, '--retention-ms', '1000'])
    expect(changed.code, changed.stderr).toBe(EXIT.OK)
    await expect
      .poll(async () => (await describeTopics(admin, [inputs.team_events]))[0]?.configs['retention.ms'], {
        timeout: 10_000,
      })
      .toBe('1000')
    const reported = await here(['topics', 'create', inputs.team_events])
    expect(reported.code).toBe(EXIT.MISMATCH)
    expect(reported.stderr).toContain(`${inputs.team_events}: retention.ms is 1000, expected ${7 * DAY_MS}`)
  })
})
