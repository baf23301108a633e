// `agent-party groups list|describe|reset` against the real broker, run as a user runs them, on this
// file's topic and groups: the list shows a group, describe its exact lag in messages and the age of
// its first unconsumed record, and a live member with its partitions; a reset is refused (exit 5,
// naming the member) while the member is there and nothing moves, then applied as asked once it left,
// a dry run moving nothing. Argument errors exit 2 before anything is contacted.
import { type Admin, type Consumer, MessagesStreamModes, stringSerializers } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { EXIT } from '../../cli/exit-codes.js'
import { createAdmin, createConsumer, createProducer } from '../../kafka/clients.js'
import { runCli, runInProcess } from '../support/cli.js'
import { createTestTopics, deleteTestTopics } from '../support/kafka.js'
import { stackConfig, stackEnv, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const env = stackEnv()
const topic = `${prefix}-events`
const group = `${prefix}-reader`
/** Record i of partition 0 has the timestamp t0 + i s; partition 1 holds 5 records. */
const t0 = Date.now() - 120_000
let admin: Admin

async function committed(groupId: string): Promise<Record<number, number>> {
  const [g] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
  const out: Record<number, number> = {}
  for (const t of g?.topics ?? [])
    for (const p of t.partitions) if (t.name === topic) out[p.partitionIndex] = Number(p.committedOffset)
  return out
}

async function commit(offsets: Record<number, number>): Promise<void> {
  await admin.alterConsumerGroupOffsets({
    groupId: group,
    topics: [
      {
        name: topic,
        partitionOffsets: Object.entries(offsets).map(([p, o]) => ({
          partition: Number(p),
          offset: BigInt(o),
        })),
      },
    ],
  })
}

/** As a user runs it: a child process (the exit code and output of the real command). */
const cli = (args: string[]) => runCli(args, env, 60_000)

/** The same command in this process (no start-up of its own: the work is the same). */
const here = (args: string[]) => runInProcess(args, env)

beforeAll(async () => {
  await createTestTopics(config, [topic], 2)
  admin = createAdmin(config.kafka, 'cli-groups-test')
  const producer = createProducer(config.kafka, { serializers: stringSerializers })
  try {
    await producer.send({
      messages: [
        ...Array.from({ length: 10 }, (_, i) => ({
          topic,
          partition: 0,
          key: 'k',
          value: `a${i}`,
          timestamp: BigInt(t0 + i * 1000),
        })),
        ...Array.from({ length: 5 }, (_, i) => ({ topic, partition: 1, key: 'k', value: `b${i}` })),
      ],
    })
  } finally {
    await producer.close()
  }
  await commit({ 0: 4, 1: 5 })
})

afterAll(async () => {
  await admin?.deleteGroups({ groups: [group] }).catch(() => {})
  await admin?.close()
  await deleteTestTopics(config, [topic])
})

describe('agent-party groups', () => {
  it('lists the group with its state and members', async () => {
    const json = await cli(['groups', 'list', '--json'])
    expect(json.stderr).toBe('')
    expect(json.code).toBe(EXIT.OK)
    const listed = JSON.parse(json.stdout) as { id: string; state: string; members: number }[]
    expect(listed.find((g) => g.id === group)).toMatchObject({ id: group, state: 'Empty', members: 0 })
    expect(listed.map((g) => g.id)).toEqual([...listed.map((g) => g.id)].sort())
  })

  it('describes the exact lag per partition, in messages and as the age of the first unconsumed record', async () => {
    const before = Date.now()
    const result = await cli(['groups', 'describe', group, '--json'])
    const after = Date.now()
    expect(result.code, result.stderr).toBe(EXIT.OK)
    const described = JSON.parse(result.stdout)
    expect(described).toMatchObject({ id: group, state: 'Empty', members: 0, memberList: [] })
    const [p0, p1] = described.partitions
    expect(described.partitions).toHaveLength(2)
    expect(p0).toMatchObject({ topic, partition: 0, committed: 4, end: 10, lag: 6 })
    expect(p1).toEqual({ group, topic, partition: 1, committed: 5, end: 5, lag: 0, lagSeconds: 0 })
    // The first unconsumed record is offset 4, written with the timestamp t0 + 4 s.
    expect(p0.lagSeconds).toBeGreaterThanOrEqual((before - (t0 + 4000)) / 1000)
    expect(p0.lagSeconds).toBeLessThanOrEqual((after - (t0 + 4000)) / 1000)

    const text = await here(['groups', 'describe', group])
    expect(text.code).toBe(EXIT.OK)
    expect(text.stdout).toContain(`group ${group}: Empty, 0 member(s)`)
    expect(text.stdout).toMatch(new RegExp(`^${topic}\\s+0\\s+4\\s+10\\s+6\\s+\\d+\\.\\d$`, 'm'))

    const missing = await here(['groups', 'describe', `${prefix}-nobody`])
    expect(missing.code).toBe(EXIT.FAILURE)
    expect(missing.stderr).toContain(`group ${prefix}-nobody does not exist`)
  })

  it('refuses a reset while a member is live, naming it; applies it as asked once the member left', async () => {
    const consumer: Consumer = createConsumer(config.kafka, group, {
      autocommit: false,
      clientId: `${prefix}-c`,
    })
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED })
    try {
      let members: { id: string; assignments: { topic: string; partitions: number[] }[] }[] = []
      await vi.waitFor(
        async () => {
          const result = await here(['groups', 'describe', group, '--json'])
          members = JSON.parse(result.stdout).memberList
          expect(members[0]?.assignments).toEqual([{ topic, partitions: [0, 1] }])
        },
        { timeout: 20_000, interval: 300 },
      )
      const refused = await cli(['groups', 'reset', group, '--to-earliest'])
      expect(refused.code).toBe(EXIT.REFUSED)
      expect(refused.stderr).toContain(`group ${group} has 1 live member(s)`)
      expect(refused.stderr).toContain(members[0]?.id)
      expect(refused.stderr).not.toMatch(/^\s+at /m)
      expect(refused.stdout).toBe('')
      // A dry run is refused too, as Kafka's tool refuses it on an active group.
      expect((await here(['groups', 'reset', group, '--to-latest', '--dry-run'])).code).toBe(EXIT.REFUSED)
      expect(await committed(group)).toEqual({ 0: 4, 1: 5 })
    } finally {
      await stream.close()
      await consumer.close(true)
    }
    const listed = JSON.parse((await here(['groups', 'list', '--json'])).stdout) as {
      id: string
      members: number
    }[]
    expect(listed.find((g) => g.id === group)?.members).toBe(0)

    const dry = await here(['groups', 'reset', group, '--to-earliest', '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(EXIT.OK)
    expect(JSON.parse(dry.stdout)).toEqual({
      groupId: group,
      target: { to: 'earliest' },
      dryRun: true,
      offsets: [
        { topic, partition: 0, before: 4, after: 0, clamped: false },
        { topic, partition: 1, before: 5, after: 0, clamped: false },
      ],
    })
    expect(await committed(group)).toEqual({ 0: 4, 1: 5 })

    // 7 lies in partition 0 (end 10); partition 1 ends at 5, so it goes to its end.
    const applied = await cli(['groups', 'reset', group, '--to-offset', '7', '--topic', topic, '--json'])
    expect(applied.code, applied.stderr).toBe(EXIT.OK)
    expect(JSON.parse(applied.stdout).offsets).toEqual([
      { topic, partition: 0, before: 4, after: 7, clamped: false },
      { topic, partition: 1, before: 5, after: 5, clamped: true },
    ])
    expect(await committed(group)).toEqual({ 0: 7, 1: 5 })

    const latest = await here(['groups', 'reset', group, '--to-latest'])
    expect(latest.code, latest.stderr).toBe(EXIT.OK)
    expect(latest.stdout).toContain(`group ${group} moved`)
    expect(latest.stdout).toMatch(new RegExp(`^${topic}\\s+0\\s+7\\s+10$`, 'm'))
    expect(await committed(group)).toEqual({ 0: 10, 1: 5 })
  })

  it('exits 1 naming a topic that does not exist, and 2 on argument errors', async () => {
    const noTopic = await here(['groups', 'reset', group, '--to-earliest', '--topic', `${prefix}-none`])
    expect(noTopic.code).toBe(EXIT.FAILURE)
    expect(noTopic.stderr).toContain(`topic ${prefix}-none does not exist`)
    expect(await committed(group)).toEqual({ 0: 10, 1: 5 })

    const none = await here(['groups', 'reset', group])
    expect(none.code).toBe(EXIT.USAGE)
    expect(none.stderr).toContain('name exactly one of --to-earliest, --to-latest, --to-offset <n>')
    expect((await here(['groups', 'reset', group, '--to-earliest', '--to-offset', '3'])).code).toBe(
      EXIT.USAGE,
    )
    const negative = await here(['groups', 'reset', group, '--to-offset', '-1'])
    expect(negative.code).toBe(EXIT.USAGE)
    expect(negative.stderr).toContain('expected a whole number >= 0')
    const missing = await here(['groups', 'describe'])
    expect(missing.code).toBe(EXIT.USAGE)
    expect(missing.stderr).toContain("missing required argument 'group'")
    expect((await here(['groups', 'describe', '--help'])).code).toBe(EXIT.OK)
    expect(await committed(group)).toEqual({ 0: 10, 1: 5 })
  })
})
