// `agent-party reset` against the real stack, run as a user runs it, with this file's application
// (PROCESSOR_CONFIG naming its id and topics), sink groups and Redis prefix: refused (exit 5, naming
// the group) while a member of the processor's group or of a selected sink's group is live, with
// nothing changed; once they left, the application reset (input offsets back to the earliest) and
// the Redis sink cleared under this file's prefix, with what was reset printed. Neo4j is never
// selected: its reset clears the graph every file shares (test/serial/ops-reset.test.ts covers it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Admin, type Consumer, MessagesStreamModes, stringSerializers } from '@platformatic/kafka'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import { createAdmin, createConsumer, createProducer } from '../../kafka/clients.js'
import { prefixedTopics } from '../../ops/produce.js'
import { OUTPUT_NAMES } from '../../processors/outputs.js'
import { runCli, runInProcess } from '../support/cli.js'
import { createTestTopics, deleteTestTopics } from '../support/kafka.js'
import { keysUnder } from '../support/redis.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const topics = prefixedTopics(`${prefix}.`)
const applicationId = `${prefix}-app`
const sinkGroupPrefix = `${prefix}-sink`
const redisPrefix = `${prefix}:`
const dir = mkdtempSync(join(tmpdir(), 'cli-reset-'))
const processorFile = join(dir, 'processor.json')
const env = {
  ...stackEnv(),
  PROCESSOR_CONFIG: processorFile,
  // No registry subjects for this file's topics: the reset needs the serdes, not the registry.
  SCHEMA_ENCODING: 'single-object',
  SINK_GROUP_PREFIX: sinkGroupPrefix,
  REDIS_KEY_PREFIX: redisPrefix,
  STATE_DIR: join(dir, 'state'),
}
let admin: Admin
let redis: Redis

/** As a user runs it: a child process (the exit code and output of the real command). */
const cli = (args: string[]) => runCli(args, env, 90_000)

/** The same command in this process (no start-up of its own: the work is the same). */
const here = (args: string[]) => runInProcess(args, env)

async function committed(groupId: string, topic: string): Promise<number | undefined> {
  const [g] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
  const p = g?.topics.find((t) => t.name === topic)?.partitions.find((q) => q.partitionIndex === 0)
  return p === undefined || p.committedOffset < 0n ? undefined : Number(p.committedOffset)
}

async function joinGroup(groupId: string): Promise<{ consumer: Consumer; close: () => Promise<void> }> {
  const consumer = createConsumer(config.kafka, groupId, { autocommit: false })
  const stream = await consumer.consume({ topics: [topics.system_events], mode: MessagesStreamModes.LATEST })
  return {
    consumer,
    close: async () => {
      await stream.close()
      await consumer.close(true)
    },
  }
}

beforeAll(async () => {
  writeFileSync(
    processorFile,
    JSON.stringify({
      applicationId,
      inputTopics: topics,
      outputTopics: Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${prefix}-${n}`])),
    }),
  )
  await createTestTopics(config, Object.values(topics), 1)
  admin = createAdmin(config.kafka, 'cli-reset-test')
  redis = new Redis(config.redis.url)
  const producer = createProducer(config.kafka, { serializers: stringSerializers })
  try {
    await producer.send({
      messages: Array.from({ length: 5 }, (_, i) => ({
        topic: topics.agent_events,
        key: 'k',
        value: `e${i}`,
      })),
    })
  } finally {
    await producer.close()
  }
  // The application has read everything: a reset puts it back at the earliest offset.
  await admin.alterConsumerGroupOffsets({
    groupId: applicationId,
    topics: [{ name: topics.agent_events, partitionOffsets: [{ partition: 0, offset: 5n }] }],
  })
})

afterAll(async () => {
  if (admin) {
    await admin
      .deleteGroups({ groups: [applicationId, ...['redis', 'neo4j'].map((s) => `${sinkGroupPrefix}-${s}`)] })
      .catch(() => {})
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
    await admin.close()
    await deleteTestTopics(config, mine)
  }
  if (redis) {
    const keys = await keysUnder(redis, redisPrefix)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('agent-party reset', () => {
  it("is refused (exit 5) while the processor's or a selected sink's group has a live member, changing nothing", async () => {
    const app = await joinGroup(applicationId)
    const sink = await joinGroup(`${sinkGroupPrefix}-redis`)
    await redis.set(`${redisPrefix}agent:kept`, '1')
    try {
      await vi.waitFor(
        async () => {
          const described = await admin.describeGroups({
            groups: [applicationId, `${sinkGroupPrefix}-redis`],
          })
          expect([...described.values()].map((g) => g.members.size)).toEqual([1, 1])
        },
        { timeout: 20_000, interval: 300 },
      )
      const refused = await cli(['reset', '--sinks', 'none'])
      expect(refused.code, refused.stderr).toBe(EXIT.REFUSED)
      expect(refused.stderr).toContain(`group ${applicationId} has 1 live member(s)`)
      expect(refused.stderr).toContain('stop every processor and sink instance first')
      expect(refused.stderr).not.toContain(sinkGroupPrefix)
      expect(refused.stdout).toBe('')

      const sinkRefused = await here(['reset', '--no-processor', '--sinks', 'redis'])
      expect(sinkRefused.code, sinkRefused.stderr).toBe(EXIT.REFUSED)
      expect(sinkRefused.stderr).toContain(`group ${sinkGroupPrefix}-redis has 1 live member(s)`)
      expect(sinkRefused.stderr).not.toContain(applicationId)

      expect(await committed(applicationId, topics.agent_events)).toBe(5)
      expect(await redis.get(`${redisPrefix}agent:kept`)).toBe('1')
    } finally {
      await app.close()
      await sink.close()
    }
  })

  it('resets the application and the selected sink once nothing runs, and prints what it reset', async () => {
    const result = await cli(['reset', '--sinks', 'redis', '--json'])
    expect(result.code, result.stderr).toBe(EXIT.OK)
    const report = JSON.parse(result.stdout)
    expect(report.applicationId).toBe(applicationId)
    expect(report.processor.inputOffsets).toEqual(
      expect.arrayContaining([{ topic: topics.agent_events, partition: 0, offset: 0 }]),
    )
    expect(report.sinks).toEqual([
      expect.objectContaining({
        sink: 'redis',
        groupId: `${sinkGroupPrefix}-redis`,
        from: 'end',
        cleared: expect.stringContaining(redisPrefix),
      }),
    ])
    expect(await committed(applicationId, topics.agent_events)).toBe(0)
    expect(await redis.get(`${redisPrefix}agent:kept`)).toBeNull()

    // Again, as text: the same reset is idempotent and says how to go on.
    await admin.alterConsumerGroupOffsets({
      groupId: applicationId,
      topics: [{ name: topics.agent_events, partitionOffsets: [{ partition: 0, offset: 3n }] }],
    })
    const text = await here(['reset', '--sinks', 'none'])
    expect(text.code, text.stderr).toBe(EXIT.OK)
    expect(text.stdout).toContain(`processor ${applicationId}: reset`)
    expect(text.stdout).toContain(`${topics.agent_events}-0@0`)
    expect(text.stdout).toContain('sinks: none reset')
    expect(text.stdout).toContain('start the processor and the sinks again to rebuild')
    expect(await committed(applicationId, topics.agent_events)).toBe(0)
  })

  it('exits 2 on a bad sink list or nothing to reset, and explains the order of work in its help', async () => {
    const badSinks = await here(['reset', '--sinks', 'mysql'])
    expect(badSinks.code).toBe(EXIT.USAGE)
    expect(badSinks.stderr).toContain('expected a comma-separated subset of neo4j, redis, archive, or none')
    const nothing = await here(['reset', '--no-processor', '--sinks', 'none'])
    expect(nothing.code).toBe(EXIT.USAGE)
    expect(nothing.stderr).toContain('nothing to reset')
    const help = await here(['reset', '--help'])
    expect(help.code).toBe(EXIT.OK)
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('Stop every processor and sink instance first')
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('Then start them again to rebuild')
  })
})
